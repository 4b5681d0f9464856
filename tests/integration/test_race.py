"""ndspy against racer.py, a target whose two threads reshape, resize,
retype, rebind, make and drop arrays all the time: list, show (by name and
by addresses a list just gave), paused and with --no-pause, text and
JSON, over and over, with watch running beside them and audit now and
then.

Every call ends by itself with status 0 or 1 (1: one stderr line per
object that is not an array, could not be read or changed while read),
its JSON parses, and what it shows is one state of each array: views of
racer's B show B's values where their layout says, its >i8 arrays are
filled with their size (racer.py says why any consistent read obeys
this, and a read that mixes two states of an array rarely does). After
all that, the target still runs, neither stopped nor traced.
"""
import json
import os
import random
import subprocess
import sys
import threading
import time

from tap import NDSPY, Tap, Zoo

# seconds of list and show calls (the suite runs about this plus 10 s)
BUDGET = float(os.environ.get("NDSPY_RACE_SECONDS", "20"))
TIMEOUT = 60
SANITIZER = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
             "UndefinedBehaviorSanitizer")


class Calls:
    """Runs ndspy, keeps what went wrong, and counts what went right."""

    def __init__(self):
        self.lock = threading.Lock()
        self.n = 0
        self.bad = []        # calls that crashed, hung, or said too much
        self.badjson = []    # JSON lines that do not parse
        self.wrong = []      # arrays shown in a state they never had
        self.count = {}      # what happened, by kind

    def tally(self, what, k=1):
        with self.lock:
            self.count[what] = self.count.get(what, 0) + k

    def run(self, args, nobj=1, is_json=False):
        """(status, stdout, stderr) of ndspy ARGS, or None if it failed
        in a way no call may (signal, timeout, other status, sanitizer,
        stderr that is not one line per failed object)."""
        with self.lock:
            self.n += 1
        cmd = [NDSPY] + [str(a) for a in args]
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.bad.append("%s: no answer in %d s" % (" ".join(cmd),
                                                       TIMEOUT))
            return None
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        lines = err.splitlines()
        problem = None
        if p.returncode < 0:
            problem = "killed by signal %d" % -p.returncode
        elif p.returncode not in (0, 1):
            problem = "exit status %d" % p.returncode
        elif any(s in err for s in SANITIZER):
            problem = "sanitizer report"
        elif any(not x.startswith("ndspy: ") for x in lines):
            problem = "stderr lines not from ndspy"
        elif p.returncode == 1 and not 1 <= len(lines) <= nobj:
            problem = "exit 1 with %d stderr lines for %d objects" % (
                len(lines), nobj)
        if problem:
            with self.lock:
                self.bad.append("%s: %s\n%s" % (" ".join(cmd), problem,
                                                err[-600:]))
            return None
        if is_json:
            for line in out.splitlines():
                try:
                    json.loads(line)
                except ValueError:
                    with self.lock:
                        self.badjson.append("%s: %r" % (" ".join(cmd),
                                                        line[:300]))
        return p.returncode, out, err


def unravel(k, shape):
    idx = []
    for n in reversed(shape):
        idx.append(k % n)
        k //= n
    return list(reversed(idx))


def check(truth, a):
    """What is wrong with array a (a show/list JSON object) as racer made
    it, or None. Arrays racer never promised anything about pass."""
    if a["address"] == truth["S"] or a["address"] == truth["R"]:
        return None   # changed in place: caught mid-change, it is as it is
    lo, size = truth["B_data"], truth["B_nbytes"]
    item = a["dtype"]["itemsize"]
    values = a.get("values")
    if lo <= a["data"] < lo + size:
        # a view of B: everything it reaches is inside B, and its values
        # are where its shape, strides and data pointer say
        reach = [a["data"] - lo, a["data"] - lo + item]
        for n, st in zip(a["shape"], a["strides"]):
            reach[0 if st < 0 else 1] += (n - 1) * st if n else 0
        if a["size"] and (reach[0] < 0 or reach[1] > size):
            return "a view of B reaching bytes %d..%d of its %d" % (
                reach[0], reach[1], size)
        if values is None:
            return None if "values_error" not in a else \
                "values of a view of B unreadable: %s" % a["values_error"]
        for k, v in enumerate(values):
            o = a["data"] - lo + sum(
                i * st for i, st in zip(unravel(k, a["shape"]),
                                        a["strides"]))
            want = o // 8 if item == 8 or o % 8 == 0 else 0
            if v != want:
                return "item %d is %r, its place in B says %d" % (k, v, want)
        return None
    if a["dtype"]["str"] == ">i8" and values is not None:
        want = int.from_bytes(a["size"].to_bytes(8, "little"), "big",
                              signed=True)
        if any(v != want for v in values):
            return "a >i8 array of size %d holding %r" % (a["size"],
                                                          values[:8])
    return None


def judge(calls, truth, args, out):
    """Checks every array of a JSON answer; returns how many it held."""
    n = 0
    for line in out.splitlines():
        try:
            a = json.loads(line)
        except ValueError:
            continue   # counted as bad JSON by run()
        n += 1
        why = check(truth, a)
        if why:
            with calls.lock:
                calls.wrong.append("%s: %s: 0x%x shape %s strides %s "
                                   "data 0x%x" % (
                                       " ".join(map(str, args)), why,
                                       a["address"], a["shape"],
                                       a["strides"], a["data"]))
    return n


def watching(calls, pid, stop):
    """watch over the same target, again and again (it never pauses it,
    so it runs beside the calls that do)."""
    while not stop.is_set():
        r = calls.run(["watch", pid, "--duration", "1", "--json"],
                      is_json=True)
        if r and r[0] == 0:
            calls.tally("watch")


def audit(calls, pid):
    """audit pauses the target for its scans: not beside the others, as
    two tracers cannot pause one process."""
    r = calls.run(["audit", pid, "--duration", "1", "--json"], is_json=True)
    if r and r[0] == 0:
        calls.tally("audit")


def round_of_calls(calls, truth, pid, rng, stats):
    names = ["__main__.%s" % n for n in truth["rebound"] + truth["mutated"]]
    for pause in ([], ["--no-pause"]):
        mode = "no-pause" if pause else "paused"
        r = calls.run(["list", pid] + pause)
        if r and r[0] == 0:
            calls.tally("list text " + mode)
        r = calls.run(["list", "--json", pid] + pause, is_json=True)
        addrs = []
        if r and r[0] == 0:
            judge(calls, truth, ["list", "--json"] + pause, r[1])
            calls.tally("list json " + mode)
            addrs = [json.loads(x)["address"] for x in r[1].splitlines()
                     if x.startswith("{")]
        # whatever the list saw a moment ago: gone, moved, or still there
        if addrs:
            pick = rng.sample(addrs, min(6, len(addrs)))
            r = calls.run(["show", "--json", "--data", "64", pid] + pick +
                          pause, nobj=len(pick), is_json=True)
            if r:
                calls.tally("shown by address " + mode,
                            judge(calls, truth, ["show"] + pause, r[1]))
            calls.run(["show", pid, hex(pick[0])] + pause)
        for name in names:
            args = ["show", "--json", "--data", "1500", pid, name] + pause
            r = calls.run(args, is_json=True)
            if r is None:
                continue
            if r[0] == 0:
                judge(calls, truth, args, r[1])
                stats[mode]["shown"] += 1
            elif "changed while it was read" in r[2]:
                stats[mode]["changed"] += 1
            else:
                stats[mode]["failed"] += 1
                stats[mode]["why"] = r[2].strip()[:160]
        calls.run(["show", pid, rng.choice(names)] + pause)


def main():
    t = Tap("race")
    calls = Calls()
    stats = {m: {"shown": 0, "changed": 0, "failed": 0}
             for m in ("paused", "no-pause")}
    zoo = Zoo(script="racer.py")
    stop = threading.Event()
    try:
        pid = zoo.pid
        watcher = threading.Thread(target=watching, args=(calls, pid, stop))
        watcher.start()
        rng = random.Random(7)
        rounds = 0
        end = time.monotonic() + BUDGET
        while time.monotonic() < end or rounds < 2:
            round_of_calls(calls, zoo.truth, pid, rng, stats)
            if rounds % 10 == 0:
                audit(calls, pid)
            rounds += 1
        stop.set()
        watcher.join()
        print("# %d calls in %d rounds; %s; by name: %s" % (
            calls.n, rounds, calls.count, stats))
        t.ok(not calls.bad, "every call ends by itself with status 0 or 1, "
             "one stderr line per failed object, no sanitizer report",
             "\n".join(calls.bad[:6]))
        t.ok(not calls.badjson, "every JSON line parses",
             "\n".join(calls.badjson[:6]))
        t.ok(not calls.wrong, "every array read is one state of it, never "
             "a mix of two (views of B, >i8 arrays)",
             "\n".join(calls.wrong[:6]))
        t.ok(stats["paused"]["shown"] >= rounds * 4 * 0.9,
             "paused, the globals are shown (nearly) every time",
             stats["paused"])
        nopause = stats["no-pause"]
        t.ok(nopause["shown"] > 0 and
             nopause["shown"] + nopause["changed"] >= rounds * 4 * 0.9,
             "with --no-pause, a global is shown or said to have changed "
             "while read (nearly always)", nopause)
        t.ok(calls.count.get("list json paused", 0) == rounds and
             calls.count.get("list text paused", 0) == rounds and
             calls.count.get("list json no-pause", 0) == rounds,
             "every list answers", calls.count)
        t.ok(calls.count.get("watch", 0) >= 1 and
             calls.count.get("audit", 0) >= 1,
             "watch and audit answer too", calls.count)
        t.ok(zoo.proc.poll() is None and zoo.running_untraced(),
             "the target still runs, neither stopped nor traced",
             zoo.state() if zoo.proc.poll() is None else "it exited")
    finally:
        stop.set()
        zoo.stop()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
