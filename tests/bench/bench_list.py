"""`make bench`: `ndspy list` scan speed against one raw process_vm_readv
pass over the same process's private writable mappings, measured in the
same run. The target holds 512 arrays of 4 MiB and 200,000 arrays of 16
float64."""
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NDSPY = os.path.join(ROOT, "build", "ndspy")
RAWREAD = os.path.join(ROOT, "build", "bench", "rawread")
PASSES = int(os.environ.get("BENCH_PASSES", "5"))
TARGET = """
import sys, numpy as np
big = [np.full(512 * 1024, float(i)) for i in range(512)]
small = [np.full(16, float(i)) for i in range(200000)]
print("ready", flush=True)
sys.stdin.read()
"""


def raw_pass(pid):
    """One process_vm_readv pass over the mappings ndspy scans."""
    out = subprocess.check_output([RAWREAD, "--maps", str(pid), str(PASSES)])
    secs, nbytes = out.split()
    return float(secs), int(nbytes)


def timed(args):
    best, out = None, b""
    for _ in range(PASSES):
        t0 = time.perf_counter()
        out = subprocess.run([NDSPY] + args, check=True,
                             capture_output=True).stdout
        dt = time.perf_counter() - t0
        best = dt if best is None or dt < best else best
    return best, out


def main():
    python = os.environ.get("PYTHON", "/usr/bin/python3")
    p = subprocess.Popen([python, "-c", TARGET], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    p.stdout.readline()
    try:
        raw, nbytes = raw_pass(p.pid)
        gb = nbytes / 1e9
        print("list benchmark: %.2f GB of private writable mappings, best "
              "of %d (whole command)" % (gb, PASSES))
        print("  %-40s %8.1f ms  %6.2f GB/s" %
              ("raw process_vm_readv pass", raw * 1e3, gb / raw))
        t, out = timed(["list", "--json", "--min-bytes", "1048576",
                        str(p.pid)])
        print("  %-40s %8.1f ms  %6.2f GB/s  %.2fx the raw pass  (%d arrays)"
              % ("ndspy list --min-bytes 1048576 --json", t * 1e3, gb / t,
                 t / raw, out.count(b"\n")))
        t, out = timed(["list", "--json", str(p.pid)])
        n = out.count(b"\n")
        print("  %-40s %8.1f ms  %6.2f GB/s  %.2fx the raw pass  (%d arrays, "
              "%.0f arrays/s)" % ("ndspy list --json (all arrays)", t * 1e3,
                                  gb / t, t / raw, n, n / t))
    finally:
        p.stdin.close()
        p.wait()


if __name__ == "__main__":
    sys.exit(main())
