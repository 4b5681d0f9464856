"""`make bench`: `ndspy list` scan speed against one raw process_vm_readv
pass over the same process's private writable mappings, measured in the
same run; then `ndspy list` on a gcore core of that process against one
raw pread pass over the core's PT_LOAD bytes. The target holds 512 arrays
of 4 MiB and 200,000 arrays of 16 float64."""
import os
import shutil
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
big = [np.full(512 * 1024, float(i)) for i in range(512)]
small = [np.full(16, float(i)) for i in range(200000)]
print("ready", flush=True)
sys.stdin.read()
"""


def raw_pass(mode, what):
    """One raw pass (rawread --maps PID or --core FILE): seconds, bytes."""
    out = subprocess.check_output([RAWREAD, mode, str(what), str(PASSES)])
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


def compare(label, baseline, raw, target):
    raw, nbytes = raw
    gb = nbytes / 1e9
    print("list benchmark, %s: %.2f GB, best of %d (whole command)" %
          (label, gb, PASSES))
    print("  %-40s %8.1f ms  %6.2f GB/s" % ("raw " + baseline, raw * 1e3,
                                           gb / raw))
    t, out = timed(["list", "--json", "--min-bytes", "1048576", str(target)])
    print("  %-40s %8.1f ms  %6.2f GB/s  %.2fx the raw pass  (%d arrays)"
          % ("ndspy list --min-bytes 1048576 --json", t * 1e3, gb / t,
             t / raw, out.count(b"\n")))
    t, out = timed(["list", "--json", str(target)])
    n = out.count(b"\n")
    print("  %-40s %8.1f ms  %6.2f GB/s  %.2fx the raw pass  (%d arrays, "
          "%.0f arrays/s)" % ("ndspy list --json (all arrays)", t * 1e3,
                              gb / t, t / raw, n, n / t))


def main():
    python = os.environ.get("PYTHON", "/usr/bin/python3")
    p = subprocess.Popen([python, "-c", TARGET], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    p.stdout.readline()
    tmp = tempfile.mkdtemp(prefix="ndspy-bench-")
    try:
        compare("live process", "process_vm_readv pass",
                raw_pass("--maps", p.pid), p.pid)
        t0 = time.perf_counter()
        subprocess.run(["gcore", "-o", os.path.join(tmp, "core"),
                        str(p.pid)], check=True, capture_output=True)
        core = os.path.join(tmp, "core.%d" % p.pid)
        print("(gcore wrote %.2f GB in %.1f s)" %
              (os.path.getsize(core) / 1e9, time.perf_counter() - t0))
        compare("core file", "pread pass over its PT_LOAD bytes",
                raw_pass("--core", core), core)
    finally:
        p.stdin.close()
        p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
