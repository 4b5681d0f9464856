"""A target for `ndspy stacks` whose threads run Python without a pause
(all at once where the build is free-threaded): SPINNERS threads loop in
spin_inner(), called by spin_outer(). truth.json (argv[1]) holds each
one's stack as traceback saw it on entering spin_inner(), newest frame
first, the lines the loop spans, and whether the build is free-threaded
and its GIL on. It says ready only once every thread has marked itself
from inside the loop: a thread just released by the barrier may still be
in threading.py for a while. stdin closing ends it."""
import json
import os
import sys
import sysconfig
import threading
import time
import traceback

SPINNERS = 4
entered = threading.Barrier(SPINNERS + 1)
stacks = {}
looping = set()


def frames(stack):
    return [[f.filename, f.name, f.lineno] for f in reversed(stack)]


def spin_inner():
    me = threading.get_native_id()
    stacks[me] = frames(traceback.extract_stack())
    entered.wait()
    n = 0
    while True:  # loop
        n += 1  # loop
        n ^= 0x5a5a  # loop
        if me not in looping:  # loop
            looping.add(me)  # loop


def spin_outer():
    spin_inner()


for _ in range(SPINNERS):
    threading.Thread(target=spin_outer, daemon=True).start()
entered.wait()
for _ in range(1000):
    if len(looping) == SPINNERS:
        break
    time.sleep(0.01)
else:
    raise RuntimeError("the spinners did not reach their loop")
with open(__file__) as f:
    loop = [i + 1 for i, line in enumerate(f)
            if line.rstrip().endswith("# loop")]
with open(sys.argv[1], "w") as f:
    json.dump({"pid": os.getpid(), "spinners": stacks, "loop": loop,
               "free_threaded": bool(sysconfig.get_config_var(
                   "Py_GIL_DISABLED")),
               "gil": getattr(sys, "_is_gil_enabled", lambda: True)()}, f)
print("ready", flush=True)
sys.stdin.read()
os._exit(0)
