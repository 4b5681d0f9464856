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


def best_of(cmd, n=PASSES):
    best = None
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        dt = time.perf_counter() - t0
        best = dt if best is None or dt < best else best
    return best


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
        print("save benchmark: %d MiB float64, best of %d, output on %s" %
              (nbytes >> 20, PASSES, os.path.dirname(out)))
        print("  %-34s %8.1f ms  %6.2f GB/s" %
              ("raw process_vm_readv pass", raw * 1e3, gb / raw))
        for name, addr in (("C-contiguous", ida), ("transposed view", idt)):
            t = best_of([NDSPY, "show", str(p.pid), str(addr), "--data", "0",
                         "--save", out])
            print("  %-34s %8.1f ms  %6.2f GB/s  %.2fx the raw rate" %
                  ("ndspy show --save (" + name + ")", t * 1e3, gb / t,
                   raw / t))
            os.unlink(out)
    finally:
        p.stdin.close()
        p.wait()


if __name__ == "__main__":
    sys.exit(main())
