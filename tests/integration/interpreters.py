"""A target whose main interpreter holds __main__.arr, an array, while a
subinterpreter (made after it: the newest) holds an arr of its own, a
list. argv: TRUTH.json DIR."""
import json
import os
import sys

import numpy as np

arr = np.arange(30)
try:
    import _interpreters as interpreters      # 3.13+
except ImportError:
    try:
        import _xxsubinterpreters as interpreters  # 3.12
    except ImportError:
        interpreters = None
if interpreters:
    sub = interpreters.create()
    interpreters.run_string(sub, "arr = [1, 2, 3]")
with open(sys.argv[1], "w") as f:
    json.dump({"pid": os.getpid(), "arr": id(arr),
               "subinterpreters": interpreters is not None}, f)
print("ready", flush=True)
sys.stdin.read()
