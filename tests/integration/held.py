"""A target with a thread that cannot stop: it waits in the kernel for a
child it started with posix_spawn (a vfork), which blocks opening the FIFO
DIR/fifo (argv[2]) until someone opens it for writing."""
import json
import os
import sys
import threading

import numpy as np


def spawn(fifo):
    os.posix_spawn("/bin/true", ["/bin/true"], os.environ, file_actions=[
        (os.POSIX_SPAWN_OPEN, 3, fifo, os.O_RDONLY, 0)])


def main():
    kept = np.arange(10)
    fifo = os.path.join(sys.argv[2], "fifo")
    os.mkfifo(fifo)
    with open(sys.argv[1], "w") as f:
        json.dump({"pid": os.getpid(), "objects": {}}, f)
    # posix_spawn keeps the GIL while it waits: say ready first
    print("ready", flush=True)
    threading.Thread(target=spawn, args=(fifo,), daemon=True).start()
    sys.stdin.read()
    del kept


main()
