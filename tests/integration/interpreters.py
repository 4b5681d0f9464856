"""A target whose main interpreter holds __main__.arr, an array, while a
subinterpreter (made after it: the newest) holds an arr of its own, a
list, and runs waiting_in_sub() in a second thread. After "go" on stdin
the main interpreter allocates a buffer of 1009 float64 in alloc_here()
and prints "done". argv: TRUTH.json DIR."""
import json
import os
import sys
import threading
import time

import numpy as np

arr = np.arange(30)
try:
    import _interpreters as interpreters      # 3.13+
except ImportError:
    try:
        import _xxsubinterpreters as interpreters  # 3.12 and before
    except ImportError:
        interpreters = None
sub_id = None
if interpreters:
    sub = interpreters.create()
    interpreters.run_string(sub, "arr = [1, 2, 3]")
    sub_id = int(sub)
    flag = os.path.join(sys.argv[2], "in-sub")
    # binary: text mode runs Python (3.9 imports _bootlocale) after the
    # file exists, and the flag must mean waiting_in_sub() is on top
    script = ("import time\n"
              "def waiting_in_sub():\n"
              "    open(%r, 'wb').close()\n"
              "    time.sleep(3600)\n"
              "waiting_in_sub()\n" % flag)
    threading.Thread(target=interpreters.run_string, args=(sub, script),
                     daemon=True).start()
    while not os.path.exists(flag):
        time.sleep(0.01)
with open(sys.argv[1], "w") as f:
    json.dump({"pid": os.getpid(), "arr": id(arr),
               "subinterpreters": interpreters is not None,
               "sub_id": sub_id}, f)


def alloc_here():
    return np.empty(1009)


print("ready", flush=True)
if sys.stdin.readline() == "go\n":
    made = alloc_here()
    print("done", flush=True)
sys.stdin.read()
# the subinterpreter still runs: no finalization that would wait for it
os._exit(0)
