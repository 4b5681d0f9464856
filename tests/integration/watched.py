"""A target for `ndspy watch`: after "go" on stdin it allocates NumPy
buffers of sizes no import makes (np.empty, np.zeros: the calloc path,
np.ones, one in a second thread), frees some, keeps the others, and writes
what __array_interface__ said of each to DONE (argv[2]/done.json), then
prints "done". It exits when stdin closes (or at once with "exit")."""
import json
import os
import sys
import threading

import numpy as np

SIZES = (1234567, 2345, 3456789, 4567, 5678901)


def make(kind, n):
    a = {"empty": np.empty, "zeros": np.zeros, "ones": np.ones}[kind](
        n, dtype=np.uint8)
    return a, {"addr": a.__array_interface__["data"][0], "size": n,
               "tid": threading.get_native_id()}


def sequence():
    seen, kept = [], []
    for i, n in enumerate(SIZES):
        a, rec = make(("empty", "zeros", "ones")[i % 3], n)
        rec["freed"] = i % 2 == 0
        seen.append(rec)
        if not rec["freed"]:
            kept.append(a)
        del a
    box = {}

    def worker():
        a, rec = make("zeros", 6789012)
        rec["freed"] = True
        box["rec"] = rec
        del a
    th = threading.Thread(target=worker)
    th.start()
    th.join()
    seen.append(box["rec"])
    return seen, kept


def main():
    with open(sys.argv[1], "w") as f:
        json.dump({"pid": os.getpid()}, f)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    seen, kept = sequence()
    with open(os.path.join(sys.argv[2], "done.json"), "w") as f:
        json.dump(seen, f)
    print("done", flush=True)
    if sys.stdin.readline().strip() == "exit":
        os._exit(0)
    sys.stdin.read()


main()
