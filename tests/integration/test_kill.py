"""ndspy killed at random moments never harms its target: SIGINT, SIGTERM
or SIGKILL, during paused reads (`show` of several arrays, `show --save`
of a 256 MiB array), scans (`list` of 25,000 arrays), `stacks`, `watch`
and `audit`. After each kill, once ndspy is gone, no thread of the target
is stopped or traced, no uprobe is left in its code (the breakpoint a
uprobe writes into the target's copy of the interpreter is gone), and it
still answers on its pipe.

Each mode is run once whole first, to measure how long it takes; the
kills then land at delays drawn from a seeded RNG over that duration (the
seed is printed; NDSPY_KILL_SEED=N replays it). A kill that finds ndspy
already finished tests nothing: the run was quicker than measured (a warm
cache, a machine less loaded), so the mode is measured again and the next
delays drawn over the new duration, until 20 kills have hit a running
ndspy (at most 10 times as many tries)."""
import os
import random
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

from tap import (NDSPY, Tap, Zoo, end_process, wait_for,
                 watch_leftovers)

KILLS = 20
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)

# Two threads (one allocating, so watch and audit see events and a pause
# has more than one thread to stop), a big array for --save, many small
# ones for scans; it echoes every line it reads.
TARGET = """
import os, sys, threading, time
import numpy as np
big = np.ones(32 * 1024 * 1024)
many = [np.zeros(2) for _ in range(25000)]
def churn():
    while True:
        a = np.empty(50)
        time.sleep(0.002)
threading.Thread(target=churn, daemon=True).start()
print(os.getpid(), id(big), *(id(many[i]) for i in range(0, 25000, 5000)),
      flush=True)
for line in sys.stdin:
    print(line.strip(), flush=True)
"""


class Target:
    """The target process; state() and running_untraced() as the zoo's."""
    state = Zoo.state

    def __init__(self, python):
        self.proc = subprocess.Popen(python.split() + ["-c", TARGET],
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
        words = self.readline(60).split()
        if len(words) != 7:
            self.stop()
            raise RuntimeError("the target did not start: %r" % words)
        self.pid = int(words[0])
        self.big = words[1]
        self.small = words[2:]
        self.pings = 0

    def readline(self, timeout):
        fd = self.proc.stdout.fileno()
        line = b""
        end = time.time() + timeout
        while not line.endswith(b"\n"):
            if not select.select([fd], [], [], max(0, end - time.time()))[0]:
                break
            chunk = os.read(fd, 1)
            if not chunk:
                break
            line += chunk
        return line.decode()

    def answers(self):
        self.pings += 1
        msg = "ping %d" % self.pings
        try:
            self.proc.stdin.write((msg + "\n").encode())
            self.proc.stdin.flush()
        except OSError:
            return False
        return self.readline(5).strip() == msg

    def stop(self):
        end_process(self.proc)


def probe_sites(target):
    """(address, original byte) of where watch puts its two uprobes in
    the target, from `watch -v`; [] if it cannot say."""
    p = subprocess.Popen([NDSPY, "watch", "-v", "--duration", "0.2",
                          str(target.pid)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    err = p.communicate(timeout=60)[1].decode()
    sites = []
    for off, path in re.findall(r"probed at file offset 0x([0-9a-f]+) of "
                                r"(\S+) \(", err):
        off = int(off, 16)
        ino = os.stat(path).st_ino
        with open(path, "rb") as f:
            f.seek(off)
            byte = f.read(1)
        with open("/proc/%d/maps" % target.pid) as f:
            for line in f:
                w = line.split()
                lo, hi = (int(x, 16) for x in w[0].split("-"))
                moff = int(w[2], 16)
                if int(w[4]) == ino and "x" in w[1] and \
                        moff <= off < moff + hi - lo:
                    sites.append((lo + off - moff, byte))
    return sites if len(sites) == 2 else []


def probed(target, sites):
    """Sites where the target's code is not the file's (a breakpoint)."""
    out = []
    with open("/proc/%d/mem" % target.pid, "rb") as f:
        for addr, byte in sites:
            f.seek(addr)
            if f.read(1) != byte:
                out.append(hex(addr))
    return out


def harmed(target, sites):
    """What is wrong with the target now ndspy is gone, or None."""
    if not wait_for(lambda: all(s not in "Tt" and tr == 0
                                for s, tr in target.state()), 1.0):
        return "stopped or traced: %s" % target.state()
    if sites and not wait_for(lambda: not probed(target, sites), 1.0):
        return "uprobe breakpoints left at %s" % probed(target, sites)
    if not target.answers():
        return "does not answer"
    return None


def run(argv, sig, delay, errfile):
    """ndspy ARGV killed by sig after delay seconds: (ran until the kill,
    exit status, what it said)."""
    errfile.seek(0)
    errfile.truncate()
    p = subprocess.Popen([NDSPY] + argv, stdout=subprocess.DEVNULL,
                         stderr=errfile)
    time.sleep(delay)
    hit = p.poll() is None
    if hit:
        p.send_signal(sig)
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        rc = "hung"
    errfile.seek(0)
    return hit, rc, errfile.read().decode("utf-8", "replace")


def measure(argv):
    """Seconds a whole run takes, and whether it succeeded."""
    t0 = time.time()
    p = subprocess.run([NDSPY] + argv, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=60)
    return time.time() - t0, p.returncode == 0, p.stderr.decode()[-300:]


def attach_time(pid):
    """Seconds until `watch -v` has its probes in (it says so on stderr)."""
    t0 = time.time()
    p = subprocess.Popen([NDSPY, "watch", "-v", str(pid)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    lines = [p.stderr.readline().decode() for _ in range(2)]
    took = time.time() - t0
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=30)
    ok = p.returncode == 0 and all("probed at" in x for x in lines)
    return took, ok, "".join(lines)


def kill_mode(t, rng, seed, target, name, argv, span, sites, errfile):
    """Kills argv at random moments within span seconds until KILLS of
    them hit a running ndspy, or one harms the target (later kills could
    not be judged on it); one TAP line. A kill that missed measures span
    again (watch, which runs until stopped, is never missed). Whether the
    target was harmed."""
    bad, hits, tries, spans = [], 0, 0, [span]
    while hits < KILLS and tries < 10 * KILLS and not bad:
        sig = SIGNALS[tries % len(SIGNALS)]
        delay = rng.uniform(0, span)
        tries += 1
        hit, rc, err = run(argv, sig, delay, errfile)
        hits += hit
        if not hit:
            again, ok, _ = measure(argv)
            span = again if ok else span
            spans.append(span)
        what = harmed(target, sites)
        # SIGINT and SIGTERM end watch and audit early, with a report
        if rc not in (0, -sig) or "Sanitizer" in err or \
                "runtime error" in err:
            what = (what + "; " if what else "") + \
                "ndspy exit %s: %s" % (rc, err.strip()[-300:])
        if what:
            bad.append("%s after %.4f s (kill %d): %s" %
                       (signal.Signals(sig).name, delay, tries, what))
    t.ok(hits >= KILLS and not bad,
         "%s: %d kills hit it (of %d; seed %d, delays 0-%.3f s, measured "
         "%d times, SIGINT/SIGTERM/SIGKILL in turn): the target is never "
         "left stopped, traced or probed, and answers" %
         (name, hits, tries, seed, max(spans), len(spans)),
         "\n".join(bad) or "only %d of %d kills hit a running ndspy "
         "(durations measured: %s)" % (hits, tries, spans))
    return bool(bad)


def main():
    t = Tap("kill")
    seed = int(os.environ.get("NDSPY_KILL_SEED") or
               random.SystemRandom().randrange(1 << 31))
    rng = random.Random(seed)
    python = os.environ.get("PYTHON", "/usr/bin/python3")
    target = Target(python)
    errfile = tempfile.TemporaryFile(prefix="ndspy-kill-")
    modes = [
        ("show of 5 arrays", lambda x: ["show", x.pid] + x.small),
        ("show --save of 256 MiB",
         lambda x: ["show", x.pid, x.big, "--data", "0", "--save",
                    "/dev/null"]),
        ("list of 25,000 arrays", lambda x: ["list", x.pid]),
        ("stacks", lambda x: ["stacks", x.pid]),
        ("audit", lambda x: ["audit", x.pid, "--duration", "0.3"]),
        ("watch", lambda x: ["watch", x.pid]),
    ]
    try:
        sites = probe_sites(target)
        t.ok(len(sites) == 2 and not probed(target, sites),
             "the two uprobe sites of watch are found in the target, "
             "unprobed once watch is done", sites)
        for name, argv in modes:
            argv = [str(a) for a in argv(target)]
            if name == "watch":
                # it runs until stopped: kill it while attaching and a
                # while after
                span, ok, err = attach_time(target.pid)
                ok = t.ok(ok, "watch has its probes in after %.3f s" % span,
                          err)
                span *= 2
            else:
                span, ok, err = measure(argv)
                ok = t.ok(ok, "%s runs whole in %.3f s" % (name, span), err)
            if ok and kill_mode(t, rng, seed, target, name, argv, span,
                                sites if name in ("audit", "watch") else [],
                                errfile):
                # the next modes get a target of their own
                target.stop()
                target = Target(python)
                sites = probe_sites(target)
                t.ok(len(sites) == 2, "a new target, its probe sites found",
                     sites)
        # and the kernel's side: no program of ndspy's is loaded, no probe
        # keeper runs (make check runs nothing else meanwhile)
        t.ok(wait_for(lambda: not watch_leftovers(), 5),
             "no eBPF program or probe keeper of ndspy's is left after "
             "all the kills", watch_leftovers())
    finally:
        errfile.close()
        target.stop()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
