"""A target for `ndspy audit`: after "go" on stdin it leaks a buffer the way
a buggy C extension would (OWNDATA cleared through ctypes, the array
dropped), leaks a whole 800 KB array the same way (a reference taken from
C, then dropped from Python), pins a 16 MiB array behind an 80-byte view,
and makes and drops 20,000 short-lived arrays; then writes what it did to
DIR/done.json and prints "done". "exit" on stdin ends it at once; EOF
too."""
import ctypes
import json
import os
import sys

import numpy as np

OWNDATA = 0x4


def leak(n):
    a = np.empty(n, dtype=np.uint8)  # site:leak
    words = (ctypes.c_uint32 * 24).from_address(id(a))
    at = [i for i in range(24) if words[i] == a.flags.num][-1]
    words[at] &= ~OWNDATA
    data = a.__array_interface__["data"][0]
    del a          # NumPy no longer frees the buffer: nobody does
    return data


def main():
    with open(sys.argv[1], "w") as f:
        json.dump({"pid": os.getpid()}, f)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    leaked = leak(3 * 1024 * 1024 + 17)
    held = np.ones(100000)            # site:unreachable
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(held))
    unreachable = id(held)
    del held
    big = np.zeros(2 * 1024 * 1024)   # 16 MiB  site:pinned
    view = big[3:13]                  # 80 bytes
    owner, data = id(big), big.__array_interface__["data"][0]
    del big
    short = [np.ones(100) for _ in range(20000)]  # site:short
    del short
    with open(os.path.join(sys.argv[2], "done.json"), "w") as f:
        json.dump({"leaked": leaked, "leaked_size": 3 * 1024 * 1024 + 17,
                   "unreachable": unreachable,
                   "owner": owner, "owner_data": data, "view": id(view),
                   "tid": __import__("threading").get_native_id()}, f)
    print("done", flush=True)
    if sys.stdin.readline().strip() == "exit":
        os._exit(0)
    sys.stdin.read()


main()
