"""A target for allocation sites: under tracemalloc.start(16), after "go"
on stdin, it allocates NumPy buffers of sizes no import makes at known
places: three calls deep in the main thread (np.empty), in a second
thread (np.zeros, the calloc path), in a module imported from a file
(np.ones), and 20 calls deep (past --depth's default). Then it writes to
argv[2]/sites.json what tracemalloc recorded for each buffer, innermost
frame first, and prints "done"; it exits when stdin closes."""
import json
import os
import sys
import threading
import tracemalloc

import numpy as np

SIZES = {"deep": 1001, "thread": 1002, "module": 1003, "deeper": 1004}
BUSY = 1005
DOMAIN = 389047  # NumPy's, in tracemalloc

MODULE = '''import numpy as np


def make(n):
    return np.ones(n)
'''


def leaf(n):
    return np.empty(n)


def middle(n):
    return leaf(n)


def outer(n):
    return middle(n)


def recurse(k, n):
    if k == 0:
        return np.empty(n)
    return recurse(k - 1, n)


def main():
    out_dir = sys.argv[2]
    with open(sys.argv[1], "w") as f:
        json.dump({"pid": os.getpid()}, f)
    with open(os.path.join(out_dir, "sitemod.py"), "w") as f:
        f.write(MODULE)
    sys.path.insert(0, out_dir)
    tracemalloc.start(16)
    print("ready", flush=True)
    sys.stdin.readline()
    import sitemod
    keep = [outer(SIZES["deep"])]
    th = threading.Thread(target=lambda: keep.append(np.zeros(SIZES["thread"])))
    th.start()
    th.join()
    keep.append(sitemod.make(SIZES["module"]))
    keep.append(recurse(20, SIZES["deeper"]))
    snap = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.DomainFilter(True, DOMAIN)])
    by_size = {8 * n: k for k, n in SIZES.items()}
    sites = {}
    for tr in snap.traces:
        if tr.size in by_size:
            # the Python API lists frames oldest first
            sites[by_size[tr.size]] = {
                "size": tr.size,
                "frames": [[f.filename, f.lineno]
                           for f in reversed(list(tr.traceback))]}
    with open(os.path.join(out_dir, "sites.json"), "w") as f:
        json.dump({"sites": sites, "tid_main": threading.get_native_id()}, f)
    print("done", flush=True)
    # "busy": for 1.5 s, buffers from one place as fast as a loop with
    # short rests makes them (tens of thousands a second), from the main
    # thread, whose state is by then the oldest of 101 (new ones are
    # listed first)
    if sys.stdin.readline().strip() == "busy":
        import time
        idle = threading.Event()
        pool = [threading.Thread(target=idle.wait) for _ in range(100)]
        for th in pool:
            th.start()
        end, n = time.time() + 1.5, 0
        while time.time() < end:
            for _ in range(100):
                outer(BUSY)
            n += 100
            time.sleep(0.002)
        idle.set()
        print(n, flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
