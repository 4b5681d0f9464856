"""`ndspy stacks` against a live process and its gcore core: the Python
frames of each thread equal what the traceback module said inside it, and
the native frames of the live process and of its core are the same; and
against threads caught running Python (in parallel on a free-threaded
build)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from tap import (Tap, Zoo, build_extension, check_gil, end_process, gcore,
                 ndspy, ndspy_on_sleep)


def threads(so):
    return {x["tid"]: x for x in map(json.loads, so.splitlines())}


def python_frames(th):
    return [[f["file"], f["function"], f["line"]] for f in th["frames"]
            if f["kind"] == "python"]


def native_ips(th):
    return [f["ip"] for f in th["frames"] if f["kind"] == "native"]


def check(t, label, so, rc, se, truth):
    ts = threads(so) if rc == 0 else {}
    t.ok(rc == 0 and len(ts) >= 3, "%s: exits 0 with every thread" % label,
         "exit %d: %s" % (rc, se))
    for who in ("main", "worker"):
        th = ts.get(truth[who + "_tid"] if who == "worker" else
                    truth["main_tid"], {"frames": []})
        want = truth[who]
        if "only zeros" in (th.get("error") or ""):
            t.skip("%s: %s thread's Python frames" % (label, who),
                   "gcore lost its stack: " + th["error"])
            continue
        t.ok(python_frames(th) == want,
             "%s: %s thread's Python frames equal traceback's" % (label, who),
             "ours %s\ntraceback %s" % (python_frames(th), want))
    main = ts.get(truth["main_tid"], {"frames": []})
    t.ok(main.get("main") is True and main.get("python") and
         any(f.get("function") for f in main["frames"]
             if f["kind"] == "native"),
         "%s: the main thread is marked, runs Python, has named native "
         "frames" % label, main)
    return ts


def busy(t):
    """Threads running Python when the process is paused, each caught
    mid-loop: every one's frames are traceback's (the newest on a line of
    the loop), whatever it was doing, three times over."""
    zoo = Zoo(script="spinning.py")
    try:
        truth = zoo.truth
        check_gil(t, truth)
        bad = []
        for _ in range(3):
            rc, so, se = ndspy("stacks", "--json", zoo.pid)
            ts = threads(so) if rc == 0 else {}
            for tid, want in truth["spinners"].items():
                got = python_frames(ts.get(int(tid), {"frames": []}))
                if not (rc == 0 and got[1:] == want[1:] and
                        got[0][:2] == want[0][:2] and
                        got[0][2] in truth["loop"]):
                    bad.append((tid, rc, se, got, want))
        t.ok(len(truth["spinners"]) == 4 and not bad,
             "threads caught running Python: each one's frames equal "
             "traceback's, the newest in its loop", bad[:2])
        rc, so, se = ndspy("stacks", "--locals", "--json", zoo.pid)
        ts = threads(so) if rc == 0 else {}

        def local(tid, frame, name):
            fs = [f for f in ts.get(tid, {"frames": []})["frames"]
                  if f["kind"] == "python"]
            return fs[frame].get("locals", {}).get(name, {}) if fs else {}
        t.ok(rc == 0 and all(
            local(int(tid), 0, "n").get("type") == "int" and
            isinstance(local(int(tid), 0, "n").get("value"), int)
            for tid in truth["spinners"]) and
            local(truth["pid"], -1, "SPINNERS").get("value") == 4,
             "--locals of threads caught running Python: each loop's n an "
             "int, the module's SPINNERS 4", (rc, se, so[-600:]))
        t.ok(zoo.running_untraced(), "the busy target runs untraced "
             "afterwards", zoo.state())
    finally:
        zoo.stop()


def numpy_refused(t):
    """A free-threaded process that loaded a module named like NumPy's
    core (NumPy itself cannot be built for it here): what reads arrays
    refuses in one line; snapshot says what it left out; stacks goes on."""
    name = "a free-threaded process with NumPy's core loaded"
    python = os.environ.get("PYTHON", "/usr/bin/python3")
    root = os.environ.get("NDSPY_TARGET_ROOT", "")
    r = subprocess.run(python.split() + [
        "-c", "import sysconfig; "
        "print(sysconfig.get_config_var('Py_GIL_DISABLED'))"],
        capture_output=True, text=True, timeout=60)
    if r.stdout.strip() != "1":
        t.skip(name, "not a free-threaded Python")
        return
    d = tempfile.mkdtemp(prefix="ndspy-test-",
                         dir=os.path.join(root, "tmp") if root else None)
    p = None
    try:
        mod = "_multiarray_umath"
        build_extension(python, root, d, "ndspy_ext.c", mod,
                        ["-DMODNAME=\"%s\"" % mod, "-DMODSYM=" + mod])
        inside = d[len(root):]
        p = subprocess.Popen(python.split() + [
            "-c", "import sys; sys.path.insert(0, %r); import %s; "
            "print('ready', flush=True); sys.stdin.read()" % (inside, mod)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL)
        p.stdout.readline()
        rc, so, se = ndspy("show", p.pid, "0x1000")
        want = "NumPy on free-threaded Python 3."
        t.ok(rc == 3 and se.count("\n") == 1 and want in se,
             name + ": show refuses in one line (exit 3)", (rc, se))
        out = os.path.join(d, "snap")
        rs, ss, es = ndspy("snapshot", p.pid, "-o", out)
        rk, sk, ek = ndspy("stacks", p.pid)
        t.ok(rs == 0 and "(NumPy loaded, not read)" in ss and want in es
             and rk == 0 and "running Python" in sk,
             name + ": snapshot says it left NumPy out, stacks goes on",
             (rs, ss, es, rk, ek))
    finally:
        if p:
            end_process(p)
        shutil.rmtree(d, ignore_errors=True)


def at_prompt(t):
    """An interactive interpreter at its prompt: its thread state has no
    frame."""
    python = os.environ.get("PYTHON", "/usr/bin/python3")
    p = subprocess.Popen(python.split() + ["-i", "-q"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        p.stderr.read(4)   # ">>> "
        rc, so, se = ndspy("stacks", p.pid)
        rj, sj, _ = ndspy("stacks", "--json", p.pid)
        t.ok(rc == 0 and "thread %d (main), running Python" % p.pid in so
             and rj == 0 and json.loads(sj.splitlines()[0])["python"],
             "a thread state without frames (an interpreter at its "
             "prompt)", "%d %d %s %s" % (rc, rj, so[-400:], se))
    finally:
        p.kill()
        p.wait()


def main():
    t = Tap("stacks")
    at_prompt(t)
    busy(t)
    numpy_refused(t)
    zoo = Zoo(script="stacked.py", args=["sleep"])
    try:
        truth = zoo.truth
        rc, so, se = ndspy("stacks", "--json", zoo.pid)
        live = check(t, "live", so, rc, se, truth)
        core = gcore(zoo.pid, os.path.join(zoo.dir, "core"))
        rc, so, se = ndspy("stacks", "--json", core)
        dead = check(t, "gcore core", so, rc, se, truth)
        for who, tid in (("main", truth["main_tid"]),
                         ("worker", truth["worker_tid"])):
            a = native_ips(live.get(tid, {"frames": []}))
            b = native_ips(dead.get(tid, {"frames": []}))
            why = dead.get(tid, {}).get("error") or ""
            if "only zeros" in why:
                t.skip("the %s thread's native frames, live and in the core"
                       % who, "gcore lost its stack: " + why)
                continue
            t.ok(a and a == b, "the %s thread's native frames are the same "
                 "live and in the core" % who, "live %s\ncore %s" % (a, b))
        rc, so, se = ndspy("stacks", zoo.pid)
        inner = truth["main"][0]
        t.ok(rc == 0 and "inner at %s:%d" % (inner[0], inner[2]) in so and
             "thread %d (main)" % truth["main_tid"] in so,
             "text: threads, and Python frames as FUNCTION at FILE:LINE",
             so[:2000])
        t.ok(zoo.running_untraced(), "the target runs untraced afterwards",
             zoo.state())
    finally:
        zoo.stop()
    rc, so, se = ndspy_on_sleep("stacks")
    t.ok(rc == 3 and "not a Python process" in se,
         "stacks of a process that is not Python: exit 3", "%d %s" % (rc, se))
    rc, so, se = ndspy("stacks")
    t.ok(rc == 2, "stacks without TARGET: exit 2", se)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
