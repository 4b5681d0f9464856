"""`make bench`: what watching costs the target. A loop of 300,000
np.empty(16) timed inside the target: untraced, under in-process
tracemalloc, under `ndspy watch --depth 0`, and under `ndspy watch
--depth 0 --at-entry` (probes on the functions' first instructions, as
other tools place them), all in one run. Then the same loop called 10
frames deep: untraced, under tracemalloc.start(16), and under `ndspy
watch` with and without its default 16 frames per buffer, for what
copying the stacks adds. Reports ns per iteration, what each adds, and
whether every alloc and free was counted."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NDSPY = os.path.join(ROOT, "build", "ndspy")
N = 300000
DEEP = 10  # frames above the loop in the deep variant
LOOP = """
import sys, time, numpy as np
frames = int(sys.argv[2])
if sys.argv[1] == "tracemalloc":
    import tracemalloc; tracemalloc.start(16 if frames else 1)
def run(n):
    for _ in range(n):
        np.empty(16)
def deep(k, n):
    return run(n) if k == 0 else deep(k - 1, n)
deep(frames, 10000)
t0 = time.perf_counter_ns(); deep(frames, %d); t1 = time.perf_counter_ns()
print((t1 - t0) / %d, flush=True)
""" % (N, N)


def per_iter(mode, watch=None, frames=0):
    python = os.environ.get("PYTHON", "/usr/bin/python3")
    cmd = [python, "-c", LOOP, mode, str(frames)]
    if watch is not None:
        # print nothing per event (--min-bytes), count everything
        cmd = [NDSPY, "watch", "--json", "--min-bytes", "1000000000"] + \
            list(watch) + ["--"] + cmd
    out = subprocess.run(cmd, check=True, capture_output=True).stdout
    lines = out.decode().splitlines()
    ns = float(next(x for x in lines if not x.startswith("{")))
    summ = next((json.loads(x) for x in lines if x.startswith("{")), None)
    return ns, summ


def best(mode, watch=None, runs=3, frames=0):
    got = [per_iter(mode, watch, frames) for _ in range(runs)]
    return min(got, key=lambda x: x[0])


def stacks():
    """The loop 10 frames deep: what 16 frames per buffer cost."""
    base, _ = best("plain", frames=DEEP)
    tm, _ = best("tracemalloc", frames=DEEP)
    flat, fs = best("plain", ["--depth", "0"], frames=DEEP)
    full, ss = best("plain", [], frames=DEEP)
    # the loop, run(), DEEP+1 calls of deep() and <module>
    copied = min(16, DEEP + 3)
    print("stacks benchmark: the same loop %d frames deep, best of 3" % DEEP)
    print("  %-34s %8.0f" % ("untraced", base))
    for label, v in (("tracemalloc.start(16)", tm),
                     ("ndspy watch --depth 0", flat),
                     ("ndspy watch (default depth 16)", full)):
        print("  %-34s %8.0f  (+%.0f ns)" % (label, v, v - base))
    print("  stacks add %.0f ns per buffer (%d frames, %.1f ns per frame): "
          "%.2fx what tracemalloc.start(16) adds (goal <= 0.5)" %
          (full - flat, copied, (full - flat) / copied,
           (full - flat) / (tm - base)))
    for label, s in (("watch --depth 0", fs), ("watch", ss)):
        print("  %s counted %d allocs, %d frees, %d lost" %
              (label, s["allocs"], s["frees"], s["lost"]))


def main():
    base, _ = best("plain")
    tm, _ = best("tracemalloc")
    w, ws = best("plain", ["--depth", "0"])
    entry, es = best("plain", ["--depth", "0", "--at-entry"])
    print("watch benchmark: %d np.empty(16), ns per iteration, best of 3" % N)
    print("  %-34s %8.0f" % ("untraced", base))
    for label, v in (("tracemalloc.start(1)", tm),
                     ("ndspy watch --depth 0", w),
                     ("ndspy watch --depth 0 --at-entry", entry)):
        print("  %-34s %8.0f  (+%.0f ns)" % (label, v, v - base))
    print("  watch adds %.2fx what tracemalloc adds (goal <= 1.0); entry "
          "probes add %.1fx what watch adds (goal >= 10)" %
          ((w - base) / (tm - base), (entry - base) / max(w - base, 1e-9)))
    for label, s in (("watch", ws), ("watch --at-entry", es)):
        # the loop's own allocations plus the interpreter's
        print("  %s counted %d allocs, %d frees, %d lost" %
              (label, s["allocs"], s["frees"], s["lost"]))
    stacks()


if __name__ == "__main__":
    sys.exit(main())
