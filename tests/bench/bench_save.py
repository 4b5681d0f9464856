"""`make bench`: --save throughput next to a raw process_vm_readv pass over
the same bytes, measured in the same run, for a 512 MiB C-contiguous array
and its transposed view."""
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NDSPY = os.path.join(ROOT, "build", "ndspy")
RAWREAD = os.path.join(ROOT, "build", "bench", "rawread")
PASSES = int(os.environ.get("BENCH_PASSES", "5"))
TARGET = """
import sys, numpy as np
a = np.arange(64 * 1024 * 1024, dtype=np.float64).reshape(8192, 8192)
t = a.T
print(id(a), id(t), a.__array_interface__["data"][0], a.nbytes, flush=True)
sys.stdin.read()
"""


def timed(cmd, out, n=PASSES):
    """Best and median wall time of n runs; the output is removed between
    runs so that every run creates its file afresh."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
        os.unlink(out)
    times.sort()
    return times[0], times[len(times) // 2]


def main():
    python = os.environ.get("PYTHON", "/usr/bin/python3")
    p = subprocess.Popen([python, "-c", TARGET], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    ida, idt, data, nbytes = (int(x) for x in p.stdout.readline().split())
    out = os.path.join(tempfile.mkdtemp(prefix="ndspy-bench-"), "x.npy")
    try:
        raw = float(subprocess.check_output(
            [RAWREAD, str(p.pid), str(data), str(nbytes), str(PASSES)]))
        gb = nbytes / 1e9
        print("save benchmark: %d MiB float64, best of %d, output on %s "
              "(whole command: start, attach, pause, copy, write, rename)" %
              (nbytes >> 20, PASSES, os.path.dirname(out)))
        print("  %-34s %8.1f ms  %6.2f GB/s" %
              ("raw process_vm_readv pass", raw * 1e3, gb / raw))
        # what the page cache alone takes for the same bytes: a bound on
        # any save, which must both read them and write them
        wr = float(subprocess.check_output(
            [RAWREAD, "--write", out + ".w", str(nbytes), str(PASSES)]))
        print("  %-34s %8.1f ms  %6.2f GB/s" %
              ("write() of as many bytes, same dir", wr * 1e3, gb / wr))
        for name, addr in (("C-contiguous", ida), ("transposed view", idt)):
            best, median = timed([NDSPY, "show", str(p.pid), str(addr),
                                  "--data", "0", "--save", out], out)
            print("  %-34s %8.1f ms  %6.2f GB/s  %.2fx the raw rate"
                  "  (median %.1f ms, %.2fx)" %
                  ("ndspy show --save (" + name + ")", best * 1e3,
                   gb / best, raw / best, median * 1e3, raw / median))
    finally:
        p.stdin.close()
        p.wait()


if __name__ == "__main__":
    sys.exit(main())
