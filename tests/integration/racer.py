"""A target whose arrays never hold still, for test_race.py.

Run by any Python 3.9+ with NumPy 1.19+ (the host's or a chroot's):
    racer.py TRUTH.json DIR
Two threads change arrays in bursts (a few ms of changes, then a rest of
as long, so that a reader gets both), until stdin closes:

- shaper: reshapes S in place (arr.shape = ...), switches its dtype in
  place (int64, uint64, int32), and resizes R in place
  (R.resize(n, refcheck=False)) then fills it with arange(n);
- binder: rebinds T to a fresh view of B (reshaped, transposed, strided,
  reversed, viewed as int32) and D to a fresh array np.full(shape, size),
  and makes and drops small arrays.

B = arange(720) (int64) is never changed, so every view of it shows its
own layout in its values: the item at byte offset o of B's buffer is
o // 8 (int64, uint64) or, as int32, o // 8 at even offsets of 8 and 0
between. D's values all equal its size. TRUTH.json says: pid, B's
address and data pointer, S's address (S is the same object throughout),
and the names of the globals rebound and mutated.
"""
import json
import os
import random
import sys
import threading
import time

import numpy as np

B = np.arange(720, dtype=np.int64)
S = B[:]                      # a view of B, reshaped in place
R = np.arange(64, dtype=np.int64)
T = B.reshape(24, 30).T
D = np.full((4, 5), 20, dtype="<i8").view(">i8")
STOP = threading.Event()

SHAPES = [(720,), (24, 30), (30, 24), (2, 3, 4, 30), (6, 120), (8, 9, 10),
          (720, 1), (1, 720), (3, 240)]
DTYPES = [np.int64, np.uint64, np.int32]


def bursts(step):
    """Runs step() for ~5 ms, rests ~5 ms, until told to stop."""
    while not STOP.is_set():
        end = time.monotonic() + 0.005
        while time.monotonic() < end:
            step()
        time.sleep(0.005)


def shaper():
    rng = random.Random(1)

    def step():
        shape = rng.choice(SHAPES)
        if S.dtype == np.int32:   # twice as many items in the last axis
            shape = shape[:-1] + (shape[-1] * 2,)
        S.shape = shape
        if rng.random() < 0.2:
            S.shape = (S.size,)
            S.dtype = rng.choice(DTYPES)
        n = rng.randrange(1, 4096)
        R.resize(n, refcheck=False)
        R[:] = np.arange(n)
    bursts(step)


def binder():
    rng = random.Random(2)
    views = [
        lambda: B.reshape(24, 30).T,
        lambda: B.reshape(2, 3, 4, 30).transpose(3, 1, 0, 2),
        lambda: B[::rng.randrange(1, 9)],
        lambda: B[::-1],
        lambda: B.reshape(24, 30)[::2, ::-3],
        lambda: B.view(np.int32)[::3],
        lambda: B.view(np.uint64).reshape(8, 90)[1:5],
    ]

    def step():
        global T, D
        # T as fast as Python goes: a read of it spans many rebindings
        for make in rng.sample(views, len(views)):
            T = make()
        shape = tuple(rng.randrange(1, 12) for _ in range(rng.randrange(1, 4)))
        D = np.full(shape, int(np.prod(shape)), dtype="<i8").view(">i8")
        junk = [np.empty(rng.randrange(1, 64)) for _ in range(20)]
        del junk
    bursts(step)


def main():
    truth_path = sys.argv[1]
    threads = [threading.Thread(target=f, daemon=True)
               for f in (shaper, binder)]
    for th in threads:
        th.start()
    truth = {
        "pid": os.getpid(),
        "B": id(B), "B_data": B.__array_interface__["data"][0],
        "B_nbytes": B.nbytes, "S": id(S), "R": id(R),
        "rebound": ["T", "D"], "mutated": ["S", "R"],
    }
    with open(truth_path + ".tmp", "w") as f:
        json.dump(truth, f)
    os.rename(truth_path + ".tmp", truth_path)
    print("ready", flush=True)
    sys.stdin.read()
    STOP.set()
    for th in threads:
        th.join()


if __name__ == "__main__":
    main()
