"""`make bench`: `ndspy why PID` (every array, each with its shortest path)
on a service holding pandas and scikit-learn state: a DataFrame of 200,000
rows (one column of str objects), a fitted Pipeline, a dict of 50,000
small records and a list of arrays; 300,000 Python objects or more. Best
of PASSES runs of the whole command, the pause and the objects walked
that -v reports, and ndspy's peak RSS, against the goals (WHOLE_GOAL s,
PAUSE_GOAL s, RSS_GOAL)."""
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NDSPY = os.environ.get("NDSPY", os.path.join(ROOT, "build", "ndspy"))
PASSES = int(os.environ.get("BENCH_PASSES", "5"))
WHOLE_GOAL, PAUSE_GOAL, RSS_GOAL = 1.0, 0.3, 128 << 20
TARGET = """
import gc, sys
import numpy as np, pandas as pd
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
rows = 200000
frame = pd.DataFrame({"price": np.random.rand(rows),
                      "qty": np.arange(rows),
                      "sku": ["sku-%d" % i for i in range(rows)]})
x = np.random.rand(5000, 20)
model = Pipeline([("scale", StandardScaler()),
                  ("clf", LogisticRegression(max_iter=200))]).fit(x, x[:, 0] > .5)
records = {"user-%d" % i: {"id": i, "score": i * 0.5} for i in range(50000)}
batches = [np.full(64, float(i)) for i in range(2000)]
gc.collect()
print("ready", len(gc.get_objects()), flush=True)
sys.stdin.read()
"""


def run(args):
    """Seconds, peak RSS (bytes), stderr of one ndspy run."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    t0 = time.perf_counter()
    p = subprocess.Popen([NDSPY] + args, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    err = p.stderr.read().decode()
    _, status, usage = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError("ndspy %s: %s" % (" ".join(args), err))
    return dt, usage.ru_maxrss * 1024, err


def main():
    python = os.environ.get("PYTHON", "/usr/bin/python3")
    p = subprocess.Popen([python, "-c", TARGET], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    tracked = int(p.stdout.readline().split()[1])
    try:
        best, rss, pauses, walked = None, 0, [], 0
        for _ in range(PASSES):
            dt, peak, err = run(["why", "-v", str(p.pid)])
            best = dt if best is None or dt < best else best
            rss = max(rss, peak)
            m = re.search(r"(\d+) objects walked.*paused ([0-9.]+) ms", err)
            walked = int(m.group(1))
            pauses.append(float(m.group(2)) / 1e3)
        pauses.sort()
        pause = pauses[len(pauses) // 2]
        print("why benchmark: pandas + scikit-learn service (%d objects the "
              "GC tracks), best of %d" % (tracked, PASSES))
        print("  objects walked from the roots      %d" % walked)
        for name, got, goal, unit in (
                ("whole command", best, WHOLE_GOAL, "s"),
                ("target paused (median)", pause, PAUSE_GOAL, "s"),
                ("peak RSS", rss / 2**20, RSS_GOAL / 2**20, "MiB")):
            print("  %-34s %8.3f %s  (goal < %g %s: %s)" % (
                name, got, unit, goal, unit,
                "met" if got < goal else "NOT met"))
    finally:
        p.stdin.close()
        p.wait()


if __name__ == "__main__":
    sys.exit(main())
