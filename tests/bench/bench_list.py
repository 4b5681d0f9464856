"""`make bench`: `ndspy list` against one raw process_vm_readv pass over
the same process's private writable mappings, measured in the same run;
then `ndspy list` on a gcore core of that process against one raw pread
pass over the core's PT_LOAD bytes. The target holds 512 arrays of 4 MiB
and 200,000 arrays of 16 float64 (2.2 GB). Each line also says the peak
RSS of ndspy (the most any of its runs reached); listing the live process
is meant to stay under RSS_GOAL, and `list --min-bytes` under SCAN_GOAL
times the raw pass (its pause under PAUSE_GOAL). Then how long `list` and
`show` pause the target (what -v reports), `ndspy snapshot` of the process
(time and size, with and without array data) beside gcore's core of it,
and last the same small arrays beside 2048 arrays of 4 MiB (8.6 GB):
`list` there against `list` of the 2.2 GB process (FLAT_GOAL: the scan
costs what the Python objects cost, not what the array data costs)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NDSPY = os.environ.get("NDSPY", os.path.join(ROOT, "build", "ndspy"))
RAWREAD = os.path.join(ROOT, "build", "bench", "rawread")
PASSES = int(os.environ.get("BENCH_PASSES", "5"))
RSS_GOAL = 64 << 20
SCAN_GOAL, SCAN_STRETCH = 0.25, 0.1
PAUSE_GOAL = 50.0
FLAT_GOAL = 1.3
MIN_BYTES = ["--json", "--min-bytes", "1048576"]
TARGET = """
import sys, numpy as np
big = [np.full(512 * 1024, float(i)) for i in range(int(sys.argv[1]))]
small = [np.full(16, float(i)) for i in range(200000)]
print("ready", id(big[0]), id(small[0]), flush=True)
sys.stdin.read()
"""


def raw_pass(mode, what):
    """One raw pass (rawread --maps PID or --core FILE): seconds, bytes."""
    out = subprocess.check_output([RAWREAD, mode, str(what), str(PASSES)])
    secs, nbytes = out.split()
    return float(secs), int(nbytes)


def run(args):
    """One ndspy run: seconds, lines written, peak RSS in bytes."""
    # A child's peak RSS starts from its parent's high-water mark (the
    # fork's memory until exec): bring ours down to what we hold now.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen([NDSPY] + args, stdout=out,
                             stderr=subprocess.PIPE)
        err = p.stderr.read()
        _, status, usage = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode:
            raise RuntimeError("ndspy %s: exit %d: %s" % (
                " ".join(args), p.returncode, err.decode(errors="replace")))
        out.seek(0)
        lines = sum(chunk.count(b"\n") for chunk in iter(
            lambda: out.read(1 << 20), b""))
        return dt, lines, usage.ru_maxrss * 1024


def timed(args):
    """Best time, lines written, and the highest peak RSS over PASSES runs."""
    best, lines, rss = None, 0, 0
    for _ in range(PASSES):
        dt, lines, peak = run(args)
        best = dt if best is None or dt < best else best
        rss = max(rss, peak)
    return best, lines, rss


def pauses(args):
    """The pause -v reports (ms) over PASSES runs: best and median."""
    got = []
    for _ in range(PASSES):
        p = subprocess.run([NDSPY, args[0], "-v"] + args[1:],
                           capture_output=True, text=True, check=True)
        got += [float(x) for x in re.findall(r"paused (?:for )?([0-9.]+) ms",
                                             p.stderr)]
    got.sort()
    return got[0], got[len(got) // 2]


def report_pauses(pid, big, small):
    print("pauses of the live process (as -v reports them), best / median "
          "of %d" % PASSES)
    best, med = pauses(["list", str(pid)] + MIN_BYTES)
    print("  %-40s %8.1f ms / %.1f ms  (goal: <= %.0f ms: %s)" % (
        "list --min-bytes 1048576", best, med, PAUSE_GOAL,
        "met" if med <= PAUSE_GOAL else "NOT met"))
    for name, args in (("list (all arrays)", ["list", str(pid)]),
                       ("show of a 4 MiB array", ["show", str(pid), big]),
                       ("show of a 16-element array",
                        ["show", str(pid), small])):
        best, med = pauses(args)
        print("  %-40s %8.1f ms / %.1f ms" % (name, best, med))


def report_snapshot(pid, tmp, gcore_s, gcore_bytes):
    print("ndspy snapshot of the live process, best of %d, beside gcore "
          "(%.2f GB in %.1f s)" % (PASSES, gcore_bytes / 1e9, gcore_s))
    out = os.path.join(tmp, "snap")
    for label, opts in (("default (--data-max 1M)", []),
                        ("--data-max 0", ["--data-max", "0"])):
        best = None
        for _ in range(PASSES):
            t0 = time.perf_counter()
            subprocess.run([NDSPY, "snapshot", str(pid), "-o", out] + opts,
                           check=True, capture_output=True)
            dt = time.perf_counter() - t0
            best = dt if best is None or dt < best else best
        size = os.path.getsize(out)
        print("  %-40s %8.1f ms  %8.1f MiB  (%.1f%% of gcore's size, "
              "%.2fx its time)" % (label, best * 1e3, size / 2**20,
                                   100 * size / gcore_bytes, best / gcore_s))
        os.remove(out)


def compare(label, baseline, raw, target, goal):
    """Each list command's best time, beside the raw pass; returns them
    by command."""
    raw, nbytes = raw
    gb = nbytes / 1e9
    print("list benchmark, %s: %.2f GB, best of %d (whole command)" %
          (label, gb, PASSES))
    print("  %-40s %8.1f ms  %6.2f GB/s" % ("raw " + baseline, raw * 1e3,
                                           gb / raw))
    over, times = [], {}
    for args, name in ((MIN_BYTES, "ndspy list --min-bytes 1048576 --json"),
                       (["--json"], "ndspy list --json (all arrays)"),
                       ([], "ndspy list (all arrays, text)")):
        t, n, rss = timed(["list"] + args + [str(target)])
        n -= 0 if args else 2  # text: the heading and the summary
        print("  %-40s %8.1f ms  %6.2f GB/s  %.2fx the raw pass  (%d arrays, "
              "%.0f arrays/s)  peak RSS %.1f MiB" % (
                  name, t * 1e3, gb / t, t / raw, n, n / t, rss / 2**20))
        times[name] = t
        if rss >= RSS_GOAL:
            over.append(name)
        if args == MIN_BYTES:
            ratio = t / raw
            print("  %-40s goal <= %.2fx the raw pass: %s; stretch <= %.2fx: "
                  "%s" % ("", SCAN_GOAL, "met" if ratio <= SCAN_GOAL
                          else "NOT met", SCAN_STRETCH,
                          "met" if ratio <= SCAN_STRETCH else "not met"))
    if not goal:
        print("  (a core's RSS counts the pages of the core file ndspy maps "
              "and reads in place)")
    else:
        print("  peak RSS goal: < %d MiB on the live process: %s" % (
            RSS_GOAL >> 20, "met" if not over else
            "NOT met by " + ", ".join(over)))
    return times


def start(nbig):
    """The target with nbig arrays of 4 MiB: the process, and the ids of
    one big and one small array."""
    python = os.environ.get("PYTHON", "/usr/bin/python3")
    p = subprocess.Popen([python, "-c", TARGET, str(nbig)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    _, big, small = p.stdout.readline().split()
    return p, big.decode(), small.decode()


def flat(small_times):
    """The same small arrays beside 8.6 GB of data: list's time against
    the 2.2 GB process's."""
    p, _, _ = start(2048)
    try:
        large = compare("live process, 2048 arrays of 4 MiB",
                        "process_vm_readv pass", raw_pass("--maps", p.pid),
                        p.pid, True)
    finally:
        p.stdin.close()
        p.wait()
    print("cost in data: 8.6 GB against 2.2 GB of arrays, the same 200,000 "
          "small ones (goal <= %.1fx)" % FLAT_GOAL)
    for name, t in large.items():
        ratio = t / small_times[name]
        print("  %-40s %8.2fx  %s" % (name, ratio, "met" if ratio <= FLAT_GOAL
                                      else "NOT met"))


def main():
    p, big, small = start(512)
    tmp = tempfile.mkdtemp(prefix="ndspy-bench-")
    try:
        times = compare("live process", "process_vm_readv pass",
                        raw_pass("--maps", p.pid), p.pid, True)
        report_pauses(p.pid, big, small)
        t0 = time.perf_counter()
        subprocess.run(["gcore", "-o", os.path.join(tmp, "core"),
                        str(p.pid)], check=True, capture_output=True)
        gcore_s = time.perf_counter() - t0
        core = os.path.join(tmp, "core.%d" % p.pid)
        print("(gcore wrote %.2f GB in %.1f s)" %
              (os.path.getsize(core) / 1e9, gcore_s))
        report_snapshot(p.pid, tmp, gcore_s, os.path.getsize(core))
        compare("core file", "pread pass over its PT_LOAD bytes",
                raw_pass("--core", core), core, False)
    finally:
        p.stdin.close()
        p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    flat(times)


if __name__ == "__main__":
    sys.exit(main())
