"""`watch` and `audit` reports (--folded, --pprof, --html) against
profiled.py: 30 MiB kept by keep_big, 5 MiB by keep_small, 64 MiB
allocated and freed by churn. The target is the ground truth: it names
the line of each np.ones call (inspect), the bytes it kept and churned,
and what tracemalloc (started as it begins allocating) holds of NumPy's
buffers when it is done, by traceback.

Every pair: one target watched at once by a watch ended by SIGINT, one
ended by --duration, one ended by the target's exit, and an audit, all
with the three files; each folded file must hold exactly tracemalloc's
stacks and bytes, the pprof profile (read back by pprof_read.py, and by
`go tool pprof`) the same stacks plus churn's 64 MiB allocated, the HTML
page the same data. Bad destinations fail early (exit 2, one line).
Host-rooted pairs (NDSPY_TARGET_ROOT empty): `watch -- COMMAND` too, and
the page rendered by Chromium."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from tap import HERE, NDSPY, Tap, ndspy, python_command, start_watch, \
    wait_for
from pprof_read import Malformed, read_profile

import chromium
from profiling import BIG, HOST_ROOTED, MIB, QUIET, SMALL, Profiled, \
    summary_of

NONE = "[no Python stack]"
SAMPLE_TYPES = [("inuse_space", "bytes"), ("inuse_objects", "count"),
                ("alloc_space", "bytes"), ("alloc_objects", "count")]


# ---- reading the reports -----------------------------------------------------

FRAME = re.compile(r"^(.*?) \((.*?)(?::(-?\d+))?\)$")


def parse_frame(text):
    """(function, file, line) of "function (file:line)"; NONE alone as
    (NONE, "", 0); None if malformed."""
    if text == NONE:
        return (NONE, "", 0)
    m = FRAME.match(text)
    if not m:
        return None
    return (m.group(1), m.group(2), int(m.group(3) or 0))


def read_folded(path):
    """([(frames outermost first, bytes)], malformed lines)."""
    stacks, bad = [], []
    with open(path) as f:
        for line in f.read().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = [parse_frame(x) for x in stack.split(";")] \
                if stack else [None]
            if not count.isdigit() or int(count) <= 0 or None in frames or \
                    (len(frames) > 1 and (NONE, "", 0) in frames):
                bad.append(line)
                continue
            stacks.append((tuple(frames), int(count)))
    return stacks, bad


def read_html(path):
    """The page's data (what ndspy wrote at the template's marker), or
    None."""
    with open(path, encoding="utf-8") as f:
        page = f.read()
    m = re.search(r'<script id="ndspy-data" type="application/json">(.*?)'
                  r'</script>', page, re.S)
    if not m or chromium.MARKER in page:
        return None
    try:
        return json.loads(m.group(1))
    except ValueError:
        return None


def through(stacks, function):
    """(bytes of the stacks through function, the (file, line) of its
    frames there)."""
    total, where = 0, set()
    for frames, n in stacks:
        hits = [(f[1], f[2]) for f in frames if f[0] == function]
        if hits:
            total += n
            where.update(hits)
    return total, where


def by_lines(stacks):
    """{(file, line) of each frame, outermost first: bytes}, as
    tracemalloc groups its traces."""
    out = {}
    for frames, n in stacks:
        key = tuple((f[1], f[2]) for f in frames)
        out[key] = out.get(key, 0) + n
    return out


def stack_diff(mine, theirs, most=12):
    """What differs between two {stack: bytes}, one line each, compact."""
    def name(k):
        return ";".join("%s:%d" % (os.path.basename(f) or "-", ln)
                        for f, ln in k)
    out = ["tracemalloc %s %d, ndspy %s" % (name(k), v, mine.get(k))
           for k, v in sorted(theirs.items()) if mine.get(k) != v]
    out += ["ndspy only %s %d" % (name(k), v)
            for k, v in sorted(mine.items()) if k not in theirs]
    return "\n".join(["%d stacks differ" % len(out)] + out[:most])


def truth_stacks(truth):
    return {tuple((f, ln) for f, ln in x["stack"]): x["size"]
            for x in truth["traces"]}


def go_pprof_top(path, tmp):
    """{node name: cum bytes} from `go tool pprof -top`, or a string saying
    why not."""
    if not shutil.which("go"):
        return "no go (apt-get install golang-go)"
    home = os.path.join(tmp, "gohome")
    os.makedirs(home, exist_ok=True)
    env = dict(os.environ, HOME=home, GOCACHE=os.path.join(home, "cache"),
               GOFLAGS="", GOTOOLCHAIN="local", GOPROXY="off")
    r = subprocess.run(["go", "tool", "pprof", "-top", "-cum",
                        "-sample_index=inuse_space", "-unit=bytes",
                        "-nodecount=100000", "-nodefraction=0",
                        "-edgefraction=0", path],
                       capture_output=True, text=True, timeout=60, env=env)
    if r.returncode:
        return "exit %d: %s" % (r.returncode, r.stderr[-800:])
    unit = {"B": 1, "kB": 1 << 10, "KB": 1 << 10, "MB": 1 << 20,
            "GB": 1 << 30, "TB": 1 << 40}

    def amount(s):
        m = re.match(r"^(-?[\d.]+)([A-Za-z]*)$", s)
        if not m or m.group(2) not in unit and m.group(2):
            raise ValueError(s)
        return float(m.group(1)) * unit.get(m.group(2) or "B")
    out = {}
    row = re.compile(r"^\s*(\S+)\s+[\d.]+%\s+[\d.]+%\s+(\S+)\s+[\d.]+%\s+"
                     r"(.+?)\s*$")
    for line in r.stdout.splitlines():
        m = row.match(line)
        if m:
            try:
                out[m.group(3)] = amount(m.group(2))
            except ValueError:
                return "cannot read %r" % line
    return out or "nothing read from: " + r.stdout[-800:]


# ---- the checks of one set of reports ---------------------------------------

def check_reports(t, label, paths, truth, live, allocs=None, exact=True,
                  tmp=None):
    """folded, pprof and html of one run against the target's truth.
    live: the run's own figure of live bytes (its summary); allocs: its
    (count, bytes) allocated, if it gives them; exact: the window began
    when tracemalloc did (else it began earlier: tracemalloc's stacks must
    be there, others may be too)."""
    fname = truth["file"]
    lines = truth["lines"]
    want = {"keep_big": (BIG, lines["keep_big"]),
            "keep_small": (SMALL, lines["keep_small"])}
    ok_files = all(os.path.isfile(paths[k]) for k in paths)
    if not t.ok(ok_files, "%s: the three files are written" % label,
                {k: os.path.exists(v) for k, v in paths.items()}):
        return
    # folded
    stacks, bad = read_folded(paths["folded"])
    got = {fn: through(stacks, fn) for fn in ("keep_big", "keep_small",
                                              "churn")}
    t.ok(not bad and stacks and
         all(got[fn] == (n, {(fname, ln)}) for fn, (n, ln) in want.items())
         and got["churn"][0] < MIB and
         truth["nbytes"] == {"keep_big": BIG, "keep_small": SMALL},
         "%s: folded: outer;...;inner BYTES with frames 'function "
         "(file:line)': 30 MiB through keep_big (%s:%d), 5 MiB through "
         "keep_small (:%d), under 1 MiB through churn"
         % (label, os.path.basename(fname), lines["keep_big"],
            lines["keep_small"]),
         "malformed %r\ngot %r\nfirst lines %r" % (bad[:5], got, stacks[:6]))
    mine, theirs = by_lines(stacks), truth_stacks(truth)
    if exact:
        t.ok(mine == theirs, "%s: folded: exactly tracemalloc's live NumPy "
             "buffers, stack for stack (file and line of every frame), "
             "byte for byte" % label, stack_diff(mine, theirs))
    else:
        t.ok(all(mine.get(k) == v for k, v in theirs.items()),
             "%s: folded: every stack tracemalloc holds since the target "
             "began allocating, byte for byte" % label,
             stack_diff({k: mine.get(k) for k in theirs}, theirs))
    total = sum(n for _, n in stacks)
    t.ok(total == live, "%s: folded: the stacks add up to the live bytes "
         "the run reported (%s)" % (label, live), "folded %d" % total)
    # pprof
    try:
        with open(paths["pprof"], "rb") as f:
            blob = f.read()
        p = read_profile(blob)
        err = None
    except (Malformed, OSError, ValueError, IndexError) as e:
        p, err = None, e
    if not t.ok(p and blob[:2] == b"\x1f\x8b" and
                p.sample_types == SAMPLE_TYPES,
                "%s: pprof: a gzipped profile.proto with sample types "
                "inuse_space/bytes, inuse_objects/count, alloc_space/bytes, "
                "alloc_objects/count" % label,
                err or (p and p.sample_types)):
        return
    keys = [tuple((f.function, f.file, f.line) for f in s["frames"])
            for s in p.samples]
    inuse = {}
    for k, s in zip(keys, p.samples):
        if s["values"][0]:
            inuse[tuple(reversed(k))] = s["values"][0]
    t.ok(len(set(keys)) == len(keys) and all(keys) and
         inuse == dict(stacks) and
         all(s["values"][1] > 0 for s in p.samples if s["values"][0]),
         "%s: pprof: one sample per stack (locations innermost first), "
         "the folded file's stacks and bytes as inuse_space" % label,
         "samples %d, distinct %d\npprof %r\nfolded %r"
         % (len(keys), len(set(keys)), sorted(inuse.items())[:6],
            sorted(stacks)[:6]))
    where = {fn: p.through("inuse_space", fn, fname, ln)
             for fn, (_, ln) in want.items()}
    # churn's np.ones: 64 buffers of 1 MiB at one stack (and np.ones's
    # scalar temporaries, at another)
    churn = (p.through("alloc_space", "churn", fname, lines["churn"]),
             p.through("inuse_space", "churn"),
             sample_values(p, "churn", fname, lines["churn"]))
    t.ok(where == {"keep_big": BIG, "keep_small": SMALL} and
         truth["churn_bytes"] == 64 * MIB and
         0 <= churn[0] - truth["churn_bytes"] < 64 * 1024 and
         churn[1] == 0 and
         [0, 0, truth["churn_bytes"], truth["churn_count"]] in churn[2],
         "%s: pprof: inuse_space 30 MiB through keep_big, 5 MiB through "
         "keep_small; churn (:%d) allocated 64 MiB (64 buffers at one "
         "stack), none in use" % (label, lines["churn"]),
         "inuse %r\nchurn (alloc_space, inuse_space, its samples) %r"
         % (where, churn))
    if allocs is not None:
        tot = (p.total("alloc_objects"), p.total("alloc_space"),
               p.total("inuse_space"))
        t.ok(tot == (allocs[0], allocs[1], live),
             "%s: pprof: its totals are the run's (allocations, bytes "
             "allocated, live bytes)" % label,
             "pprof %r, run %r" % (tot, (allocs[0], allocs[1], live)))
    top = go_pprof_top(paths["pprof"], tmp)
    if isinstance(top, str) and top.startswith("no go"):
        t.skip("%s: go tool pprof -top" % label, top)
    else:
        t.ok(isinstance(top, dict) and top.get("keep_big") == BIG and
             top.get("keep_small") == SMALL,
             "%s: go tool pprof -top -sample_index=inuse_space: keep_big "
             "30 MiB, keep_small 5 MiB (cum)" % label, top)
    # html
    data = read_html(paths["html"])
    hstacks = data and {tuple(parse_frame(x) for x in s["frames"]):
                        s["bytes"] for s in data.get("stacks", [])}
    names = ["%s (%s:%d)" % (fn, fname, ln) for fn, (_, ln) in want.items()]
    t.ok(data and hstacks == dict(stacks) and data.get("total_bytes") == live
         and data.get("unit") == "bytes" and
         all(any(n in s["frames"] for s in data["stacks"]) for n in names),
         "%s: html: the page's data names keep_big and keep_small at their "
         "lines, with the folded file's stacks and bytes" % label,
         "data %r" % (data and {k: v for k, v in data.items()
                                if k != "stacks"}))
    left = [x for x in os.listdir(os.path.dirname(paths["folded"]))
            if x not in {os.path.basename(v) for v in paths.values()}]
    t.ok(not left, "%s: nothing else left beside the files" % label, left)


def sample_values(p, function, file, line):
    """The values of each sample with a frame function (file:line)."""
    return [x["values"] for x in p.samples
            if any((f.function, f.file, f.line) == (function, file, line)
                   for f in x["frames"])]


def report_paths(tmp, name):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    return {"folded": os.path.join(d, "stacks.folded"),
            "pprof": os.path.join(d, "profile.pb.gz"),
            "html": os.path.join(d, "flame.html")}


def report_args(paths):
    return ["--folded", paths["folded"], "--pprof", paths["pprof"],
            "--html", paths["html"]]



# ---- 1. the reports ---------------------------------------------------------

def one_target(t, tmp):
    """One target, watched by four at once: a watch ended by SIGINT, one by
    --duration, one by the target's exit, and an audit."""
    target = Profiled("--go", "--wait")
    procs = []
    try:
        p_int, p_dur, p_exit, p_aud = (report_paths(tmp, n) for n in
                                       ("sigint", "duration", "exit",
                                        "audit"))
        audit = subprocess.Popen(
            [NDSPY, "audit", "-v", "--json", "--duration", "3"] +
            report_args(p_aud) + [str(target.pid)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        procs.append(audit)
        first = audit.stderr.readline().decode()   # its first scan is in
        w_int, _ = start_watch(target.pid, "--json", *QUIET,
                               *report_args(p_int))
        dur_t0 = time.time()
        w_dur, _ = start_watch(target.pid, "--json", *QUIET,
                               "--duration", "2.5", *report_args(p_dur))
        w_exit, _ = start_watch(target.pid, "--json", *QUIET,
                                "--folded", p_exit["folded"],
                                "--pprof", p_exit["pprof"],
                                "--html", p_exit["html"])
        procs += [w_int, w_dur, w_exit]
        t0 = time.time()
        truth = target.go()
        took = time.time() - t0
        # SIGINT: the window ends now, the target holding what it keeps
        w_int.send_signal(signal.SIGINT)
        out, err = w_int.communicate(timeout=30)
        summ = summary_of(out)
        t.ok(w_int.returncode == 0 and summ and summ["lost"] == 0,
             "watch PID ended by SIGINT: exit 0, a summary, nothing lost",
             "exit %s: %s" % (w_int.returncode, err.decode()[-800:]))
        if summ:
            check_reports(t, "watch PID, SIGINT", p_int, truth,
                          summ["live_bytes"],
                          (summ["allocs"], summ["bytes_allocated"]), tmp=tmp)
        out, err = w_dur.communicate(timeout=30)
        dur = time.time() - dur_t0
        summ = summary_of(out)
        t.ok(w_dur.returncode == 0 and summ and summ["lost"] == 0 and
             took < 2 and 2.5 <= dur < 10,
             "watch PID --duration 2.5 ends by itself: exit 0, a summary, "
             "nothing lost (the target allocated within its window)",
             "exit %s after %.1f s, target took %.2f s: %s"
             % (w_dur.returncode, dur, took, err.decode()[-800:]))
        if summ:
            check_reports(t, "watch PID --duration", p_dur, truth,
                          summ["live_bytes"],
                          (summ["allocs"], summ["bytes_allocated"]), tmp=tmp)
        out, err = audit.communicate(timeout=60)
        summ = summary_of(out)
        t.ok(audit.returncode == 0 and summ and summ["lost"] == 0,
             "audit PID --duration 3: exit 0, a summary, nothing lost",
             "exit %s: %s%s" % (audit.returncode, first,
                                err.decode()[-800:]))
        if summ:
            check_reports(t, "audit", p_aud, truth, summ["growth_bytes"],
                          (summ["allocs"], summ["bytes_allocated"]), tmp=tmp)
        # the target exits: the last watch ends, its files written
        t0 = time.time()
        target.send(b"exit\n")
        out, err = w_exit.communicate(timeout=30)
        summ = summary_of(out)
        stacks, bad = read_folded(p_exit["folded"]) \
            if os.path.exists(p_exit["folded"]) else (None, ["missing"])
        try:
            with open(p_exit["pprof"], "rb") as f:
                p = read_profile(f.read())
            big = [v[2:] for v in sample_values(
                p, "keep_big", truth["file"], truth["lines"]["keep_big"])]
        except (OSError, Malformed) as e:
            big = e
        t.ok(w_exit.returncode == 0 and summ and time.time() - t0 < 10 and
             not bad and read_html(p_exit["html"]) is not None and
             sum(n for _, n in stacks) == summ["live_bytes"] and
             isinstance(big, list) and [BIG, 1] in big,
             "a watch ended by the target's exit writes the three files: "
             "folded adds up to its live bytes, pprof has keep_big's 30 MiB "
             "allocated", "exit %s after %.1f s: %s\nfolded bad %r, pprof "
             "keep_big alloc %r" % (w_exit.returncode, time.time() - t0,
                                    err.decode()[-600:], bad[:3], big))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        target.stop()


SHORT = """import time
import numpy as np
def load():
    return np.zeros((1024, 1024))
batch = load()
time.sleep(0.05)
"""


def short_command(t, tmp):
    """A command that exits 50 ms after its buffer: the buffer still comes
    with its stack (frames are named from the running process, which a
    watch reading events every 100 ms found gone)."""
    env, argv = python_command()
    script = os.path.join(tmp, "short.py")
    with open(script, "w") as f:
        f.write(SHORT)
    p = subprocess.run([NDSPY, "watch", "--json", "--min-bytes", "8000000",
                        "--"] + argv + [script], capture_output=True,
                       env=env, timeout=60)
    events = [json.loads(x) for x in p.stdout.decode().splitlines()
              if x.startswith("{")]
    allocs = [e for e in events if e.get("event") == "alloc"]
    stack = allocs[0].get("stack") if len(allocs) == 1 else None
    t.ok(p.returncode == 0 and stack and stack[0]["function"] == "load" and
         stack[0]["line"] == 4 and stack[0]["file"] == script and
         b"no Python stacks" not in p.stderr,
         "a command that exits 50 ms after its buffer: the buffer's stack "
         "is named (load, short.py:4)", (p.returncode, allocs,
                                          p.stderr.decode()[-400:]))


def closed_stdout(t, tmp):
    """`watch ... | head -1`: the reader gone, the watch ends on the
    failed write (not killed by SIGPIPE) and its report is still written."""
    env, argv = python_command()
    paths = report_paths(tmp, "pipe")
    p = subprocess.Popen(
        [NDSPY, "watch", "--folded", paths["folded"], "--"] + argv +
        [os.path.join(HERE, "profiled.py")], stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    p.stdout.readline()     # the first event line, then the reader goes
    p.stdout.close()
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    stacks, _ = read_folded(paths["folded"]) \
        if os.path.exists(paths["folded"]) else (None, None)
    t.ok(p.returncode not in (-signal.SIGPIPE, 128 + signal.SIGPIPE) and
         stacks is not None and b"cannot write" in err,
         "stdout closed by its reader: watch says it cannot write, and "
         "--folded is written", (p.returncode, err.decode()[-400:]))


def watch_command(t, tmp):
    """watch -- COMMAND, ended by SIGINT once the command said ready; the
    command runs on, holding its arrays until its stdin closes. The watch
    began before NumPy's import: tracemalloc's stacks (from when the
    script allocates) must be among the report's. Not the import's own:
    a module body's code object is freed before ndspy names its frames,
    and its memory may hold another code object by then (README)."""
    env, argv = python_command()
    paths = report_paths(tmp, "command")
    d = tempfile.mkdtemp(prefix="ndspy-reports-cmd-")
    try:
        shutil.copy(os.path.join(HERE, "profiled.py"), d)
        truth_path = os.path.join(d, "truth.json")
        p = subprocess.Popen(
            [NDSPY, "watch", "--json", *QUIET, *report_args(paths), "--"] +
            argv + [os.path.join(d, "profiled.py"),
                    "--wait", "--truth", truth_path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=env)
        # the command's stdout is ndspy's: its "ready", then ndspy's summary
        ready = False
        timer = threading.Timer(60, p.kill)
        timer.start()
        try:
            for line in p.stdout:
                if line.strip() == b"ready":
                    ready = True
                    break
        finally:
            timer.cancel()
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        with open(truth_path) as f:
            truth = json.load(f)
        alive = os.path.exists("/proc/%d" % truth["pid"])
        p.stdin.close()     # the command ends; ndspy's stdout with it
        out = p.stdout.read()
        err = p.stderr.read().decode()
        wait_for(lambda: not os.path.exists("/proc/%d" % truth["pid"]), 10)
        summ = summary_of(out)
        t.ok(ready and p.returncode == 0 and summ and summ["lost"] == 0 and
             alive,
             "watch -- COMMAND ended by SIGINT: exit 0, a summary, the "
             "command left running", "ready %s, exit %s, command alive %s: "
             "%s" % (ready, p.returncode, alive, err[-800:]))
        if summ:
            check_reports(t, "watch -- COMMAND, SIGINT", paths, truth,
                          summ["live_bytes"],
                          (summ["allocs"], summ["bytes_allocated"]),
                          exact=False, tmp=tmp)
        render(t, paths["html"], tmp)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def render(t, html, tmp):
    """The page in Chromium: the DOM names keep_big, the screenshot is not
    blank."""
    try:
        dom, png = chromium.render(html, os.path.join(tmp, "flame.png"))
    except chromium.Unavailable as e:
        t.skip("the flame graph in Chromium", str(e))
        return
    except RuntimeError as e:
        dom, png = str(e), {}
    t.ok("keep_big" in dom and "keep_small" in dom and
         png.get("nonbg_fraction", 0) > 0.02 and png.get("colors", 0) >= 4,
         "the page in Chromium: its DOM names keep_big and keep_small, the "
         "screenshot is not blank", "%r\n%s" % (png, dom[-1500:]))


def bad_destinations(t, tmp):
    """A destination that cannot be written fails at once (exit 2, one
    line naming it), before the target is looked at."""
    nowhere = "/nonexistent/dir/x"
    # no such process: an error about it would mean the target was looked
    # at first
    with open("/proc/sys/kernel/pid_max") as f:
        no_pid = int(f.read()) - 1
    while os.path.exists("/proc/%d" % no_pid):
        no_pid -= 1
    no_pid = str(no_pid)
    cases = [("watch --folded", ["watch", "--folded", nowhere, no_pid]),
             ("watch --pprof", ["watch", "--pprof", nowhere, no_pid]),
             ("watch --html", ["watch", "--html", nowhere, no_pid]),
             ("audit --folded", ["audit", "--folded", nowhere, no_pid]),
             ("audit --pprof", ["audit", "--pprof", nowhere, no_pid]),
             ("audit --html", ["audit", "--html", nowhere, no_pid])]
    for name, args in cases:
        rc, so, se = ndspy(*args)
        t.ok(rc == 2 and len(se.strip().splitlines()) == 1 and nowhere in se
             and not so, "%s %s: exit 2, one line naming it" % (name, nowhere),
             "exit %d: %s" % (rc, se))
    rc, so, se = ndspy("watch", "--html", tmp, no_pid)
    t.ok(rc == 2 and len(se.strip().splitlines()) == 1 and tmp in se,
         "watch --html DIRECTORY: exit 2, one line naming it",
         "exit %d: %s" % (rc, se))
    # one good, one bad: neither is left behind
    good = os.path.join(tmp, "bad-dest", "good.folded")
    os.makedirs(os.path.dirname(good))
    rc, so, se = ndspy("audit", "--folded", good, "--pprof", nowhere, no_pid)
    t.ok(rc == 2 and not os.listdir(os.path.dirname(good)),
         "audit --folded GOOD --pprof BAD: exit 2, nothing written to GOOD's "
         "directory", "exit %d: %s; left %r"
         % (rc, se, os.listdir(os.path.dirname(good))))
    for spec in ("127.0.0.1:99999", "127.0.0.1:", "not-a-host:9", ""):
        rc, so, se = ndspy("watch", "--metrics", spec, no_pid)
        t.ok(rc == 2 and len(se.strip().splitlines()) == 1 and
             "--metrics" in se,
             "watch --metrics %r: exit 2, one line" % spec,
             "exit %d: %s" % (rc, se))
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        rc, so, se = ndspy("watch", "--metrics",
                           "127.0.0.1:%d" % busy.getsockname()[1], no_pid)
    finally:
        busy.close()
    t.ok(rc == 2 and "cannot listen" in se and
         len(se.strip().splitlines()) == 1,
         "watch --metrics on a port in use: exit 2, one line",
         "exit %d: %s" % (rc, se))
    if not HOST_ROOTED:
        t.skip("watch -- COMMAND with a bad destination",
               "the target runs in a chroot")
        return
    env, argv = python_command()
    mark = os.path.join(tmp, "ran")
    p = subprocess.run([NDSPY, "watch", "--pprof", nowhere, "--"] + argv +
                       ["-c", "open(%r, 'w')" % mark], capture_output=True,
                       timeout=60, env=env)
    t.ok(p.returncode == 2 and not os.path.exists(mark) and
         nowhere in p.stderr.decode(),
         "watch --pprof BAD -- COMMAND: exit 2, the command never started",
         "exit %d, ran %s: %s" % (p.returncode, os.path.exists(mark),
                                  p.stderr.decode()))



def main():
    t = Tap("reports")
    tmp = tempfile.mkdtemp(prefix="ndspy-reports-out-")
    try:
        one_target(t, tmp)
        bad_destinations(t, tmp)
        if HOST_ROOTED:
            watch_command(t, tmp)
            closed_stdout(t, tmp)
            short_command(t, tmp)
        else:
            for what in ("watch -- COMMAND", "the flame graph in Chromium",
                         "stdout closed by its reader",
                         "a command that exits soon after its buffer"):
                t.skip(what, "the target runs in a chroot (host round only)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
