"""`make bench`: what watching costs the target. A loop of 300,000
np.empty(16) timed inside the target: untraced, under in-process
tracemalloc, under `ndspy watch`, and under `ndspy watch --at-entry`
(probes on the functions' first instructions, as other tools place them),
all in one run. Reports ns per iteration, what each adds, and whether every
alloc and free was counted."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NDSPY = os.path.join(ROOT, "build", "ndspy")
N = 300000
LOOP = """
import sys, time, numpy as np
if sys.argv[1] == "tracemalloc":
    import tracemalloc; tracemalloc.start(1)
def run(n):
    for _ in range(n):
        np.empty(16)
run(10000)
t0 = time.perf_counter_ns(); run(%d); t1 = time.perf_counter_ns()
print((t1 - t0) / %d, flush=True)
""" % (N, N)


def per_iter(mode, watch=None):
    python = os.environ.get("PYTHON", "/usr/bin/python3")
    cmd = [python, "-c", LOOP, mode]
    if watch is not None:
        # print nothing per event (--min-bytes), count everything
        cmd = [NDSPY, "watch", "--json", "--min-bytes", "1000000000"] + \
            list(watch) + ["--"] + cmd
    out = subprocess.run(cmd, check=True, capture_output=True).stdout
    lines = out.decode().splitlines()
    ns = float(next(x for x in lines if not x.startswith("{")))
    summ = next((json.loads(x) for x in lines if x.startswith("{")), None)
    return ns, summ


def best(mode, watch=None, runs=3):
    got = [per_iter(mode, watch) for _ in range(runs)]
    return min(got, key=lambda x: x[0])


def main():
    base, _ = best("plain")
    tm, _ = best("tracemalloc")
    w, ws = best("plain", [])
    entry, es = best("plain", ["--at-entry"])
    print("watch benchmark: %d np.empty(16), ns per iteration, best of 3" % N)
    print("  %-34s %8.0f" % ("untraced", base))
    for label, v in (("tracemalloc.start(1)", tm), ("ndspy watch", w),
                     ("ndspy watch --at-entry", entry)):
        print("  %-34s %8.0f  (+%.0f ns)" % (label, v, v - base))
    print("  watch adds %.2fx what tracemalloc adds (goal <= 1.0); entry "
          "probes add %.1fx what watch adds (goal >= 10)" %
          ((w - base) / (tm - base), (entry - base) / max(w - base, 1e-9)))
    for label, s in (("watch", ws), ("watch --at-entry", es)):
        # the loop's own allocations plus the interpreter's
        print("  %s counted %d allocs, %d frees, %d lost" %
              (label, s["allocs"], s["frees"], s["lost"]))


if __name__ == "__main__":
    sys.exit(main())
