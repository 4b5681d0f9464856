"""A target making NumPy 2.5's calls around data buffers (the np25_calls
extension, which test_np25.py builds into DIR): after "go" on stdin it
allocates, resizes with tracemalloc off (in a second thread), again with
it on, resizes through the public PyDataMem_RENEW with it on and off, and
frees one buffer; then writes
each step's addresses and sizes to DIR/steps.json and prints "done".
argv: TRUTH.json DIR."""
import json
import os
import sys
import sysconfig
import threading
import tracemalloc

try:
    import numpy  # noqa: F401  (audit reads NumPy's arrays)
except ImportError:   # the calls need no NumPy; audit does
    numpy = None

with open(sys.argv[1], "w") as f:
    json.dump({"pid": os.getpid(), "numpy": numpy is not None}, f)
print("ready", flush=True)
if sys.stdin.readline() != "go\n":
    sys.exit(0)
sys.path.insert(0, sys.argv[2])
import np25_calls as np25  # noqa: E402

# (importing an extension that does not say it can do without the GIL
# turns it back on in a free-threaded build)
steps = {"free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
         "gil": getattr(sys, "_is_gil_enabled", lambda: True)()}


def resize_here(addr, n):
    return np25.resize(addr, n)


a = np25.alloc(100003)
# in a thread that has made no other call: its state is found afresh
out = []
th = threading.Thread(target=lambda: out.append(resize_here(a, 1000003)))
th.start()
th.join()
b = out[0]
steps["off"] = {"old": a, "old_size": 100003, "new": b, "size": 1000003}
tracemalloc.start()
c = np25.alloc(100019)
d = resize_here(c, 1000033)
steps["on"] = {"old": c, "old_size": 100019, "new": d, "size": 1000033}
g = np25.alloc(100057)
h = np25.resize_public(g, 1000039)
steps["public_on"] = {"old": g, "old_size": 100057, "new": h,
                      "size": 1000039}
tracemalloc.stop()
e = np25.alloc(100043)
f = np25.resize_public(e, 1000037)
steps["public"] = {"old": e, "old_size": 100043, "new": f, "size": 1000037}
# the thread goes on: the resize not followed is counted now
np25.release(b)
steps["freed"] = {"old": b}
with open(os.path.join(sys.argv[2], "steps.json"), "w") as out:
    json.dump(steps, out)
print("done", flush=True)
sys.stdin.read()
