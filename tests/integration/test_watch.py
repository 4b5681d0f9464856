"""`ndspy watch` against real processes: every buffer a scripted sequence
allocates and frees is seen with the address and size NumPy reported, by
two watchers at once; a target that exits ends the watch with a summary;
`watch -- COMMAND` sees the buffers of the command's first lines; inside a
PID namespace of their own (a container's debug sidecar) ndspy and the
target see every buffer all the same; and no probe is left attached when
ndspy is gone."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from tap import (NDSPY, Tap, Zoo, ndspy, ndspy_on_sleep, python_command,
                 start_watch, wait_for, watch_leftovers)


def finish(p):
    """SIGINT, then (events, summary, stderr)."""
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    ev = [json.loads(x) for x in out.decode().splitlines()]
    summ = [x for x in ev if x["event"] == "summary"]
    return [x for x in ev if x["event"] != "summary"], \
        summ[0] if summ else None, err.decode()


def matches(events, seq):
    """What of the sequence the events miss (in order, addresses reused)."""
    missing = []
    for rec in seq:
        i = next((k for k, x in enumerate(events) if x["event"] == "alloc" and
                  x["addr"] == rec["addr"] and x["size"] == rec["size"] and
                  x["tid"] == rec["tid"]), None)
        if i is None:
            missing.append(("alloc", rec))
            continue
        rest = events[i + 1:]
        freed = any(x["event"] == "free" and x["addr"] == rec["addr"]
                    for x in rest)
        if freed != rec["freed"]:
            missing.append(("free" if rec["freed"] else "no free", rec))
        events = rest if not freed else events
    return missing


def probes(pid=None):
    """BPF uprobes on a python in the kernel (of process pid, if given)."""
    out = subprocess.run(["bpftool", "perf", "list", "--json"],
                         capture_output=True, text=True).stdout or "[]"
    return [x for x in json.loads(out) if x.get("fd_type") == "uprobe" and
            "python" in x.get("filename", "") and
            (pid is None or x.get("pid") == pid)]


def watch_sequence(zoo):
    """Starts a watcher, runs the target's sequence: (sequence, events,
    summary, watcher's exit status, stderr)."""
    w, _ = start_watch(zoo.pid, "--json")
    zoo.proc.stdin.write(b"go\n")
    zoo.proc.stdin.flush()
    zoo.proc.stdout.readline()
    with open(os.path.join(zoo.dir, "done.json")) as f:
        seq = json.load(f)
    time.sleep(0.3)
    ev, summ, err = finish(w)
    return seq, ev, summ, w.returncode, err


def in_pidns():
    """Run inside `unshare --pid --fork --mount-proc`: the sequence watched
    there, as JSON on stdout."""
    zoo = Zoo(script="watched.py")
    try:
        seq, ev, summ, rc, err = watch_sequence(zoo)
        json.dump({"pid": zoo.pid, "seq": seq, "events": ev, "rc": rc,
                   "err": err}, sys.stdout)
    finally:
        zoo.stop()
    return 0


def pidns(t):
    """ndspy and the target in a PID namespace of their own: the IDs the
    probes compare are that namespace's."""
    p = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc",
                        sys.executable, os.path.abspath(__file__),
                        "--in-pidns"], capture_output=True, timeout=120)
    try:
        got = json.loads(p.stdout)
    except ValueError:
        got = None
    miss = matches(got["events"], got["seq"]) if got else ["no result"]
    t.ok(got and got["rc"] == 0 and got["pid"] < 100 and not miss,
         "inside its own PID namespace, watch sees every buffer of the "
         "sequence (target PID %s there)" % (got and got["pid"]),
         "exit %d %s\nmissing %s" % (p.returncode, p.stderr.decode()[-800:],
                                     miss))


def unprivileged(t):
    """Without CAP_BPF/CAP_PERFMON (nobody watching its own process):
    exit 3, and the message says what is missing."""
    if os.environ.get("NDSPY_TARGET_ROOT") or os.geteuid() != 0:
        t.skip("watch without privileges", "needs root to become nobody, "
               "and the host's python")
        return
    drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            "--inh-caps=-all"]
    # a copy nobody can run, wherever the checkout is
    tmp = tempfile.mkdtemp(prefix="ndspy-nobody-")
    os.chmod(tmp, 0o755)
    exe = os.path.join(tmp, "ndspy")
    shutil.copy(NDSPY, exe)
    target = subprocess.Popen(drop + ["/usr/bin/python3", "-c",
                                      "import numpy, sys; print(1, flush=True);"
                                      " sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        target.stdout.readline()
        p = subprocess.run(drop + [exe, "watch", "--duration", "1",
                                   str(target.pid)], capture_output=True,
                           timeout=30)
    finally:
        target.stdin.close()
        target.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    se = p.stderr.decode()
    if p.returncode in (126, 127):
        t.skip("watch without privileges", "nobody cannot run " + exe)
        return
    t.ok(p.returncode == 3 and "CAP_BPF" in se and "CAP_PERFMON" in se,
         "watch without privileges: exit 3, names CAP_BPF and CAP_PERFMON",
         "exit %d: %s" % (p.returncode, se))


def main():
    t = Tap("watch")
    zoo = Zoo(script="watched.py")
    try:
        w1, why1 = start_watch(zoo.pid, "--json")
        w2, why2 = start_watch(zoo.pid, "--json")
        t.ok(len(probes(w1.pid)) == 3 and len(probes(w2.pid)) == 3,
             "each watcher has its three uprobes attached (Track, "
             "Untrack, PyMem_RawRealloc)", probes())
        t.ok(all("which the kernel emulates" in x for x in why1),
             "-v: both probes on an instruction the kernel emulates",
             "".join(why1))
        zoo.proc.stdin.write(b"go\n")
        zoo.proc.stdin.flush()
        t.ok(zoo.proc.stdout.readline().strip() == b"done",
             "the target ran its sequence")
        with open(os.path.join(zoo.dir, "done.json")) as f:
            seq = json.load(f)
        time.sleep(0.3)
        for label, w in (("first", w1), ("second", w2)):
            ev, summ, err = finish(w)
            miss = matches(ev, seq)
            t.ok(w.returncode == 0 and not miss, "%s watcher: every alloc "
                 "and free of the sequence, right address, size, thread"
                 % label, "exit %s %s\nmissing %s" % (w.returncode, err, miss))
            t.ok(summ and summ["lost"] == 0 and
                 summ["allocs"] == sum(x["event"] == "alloc" for x in ev) and
                 summ["live_bytes"] == summ["bytes_allocated"] -
                 summ["bytes_freed"], "%s watcher: the summary adds up" %
                 label, summ)
        t.ok(wait_for(lambda: not probes() and not watch_leftovers(), 5),
             "no probe, program or probe keeper left once the watchers are "
             "gone", probes() + watch_leftovers())
        t.ok(zoo.running_untraced(), "the target runs untraced afterwards",
             zoo.state())
        # the target exits mid-window: what was seen, and a summary
        w3, _ = start_watch(zoo.pid, "--json", "--duration", "60")
        t0 = time.time()
        zoo.proc.stdin.write(b"exit\n")
        zoo.proc.stdin.flush()
        out, err = w3.communicate(timeout=30)
        lines = [json.loads(x) for x in out.decode().splitlines()]
        t.ok(w3.returncode == 0 and time.time() - t0 < 10 and lines and
             lines[-1]["event"] == "summary",
             "a target exiting ends the watch with a summary",
             "exit %s after %.1f s: %s" % (w3.returncode, time.time() - t0,
                                          err.decode()))
    finally:
        zoo.stop()
    # watch -- COMMAND: probes in before the first line
    env, argv = python_command()
    if os.environ.get("NDSPY_TARGET_ROOT"):
        t.skip("watch -- COMMAND", "the target runs in a chroot")
    else:
        # it lives on a moment: frames are named while it runs
        code = ("import numpy as np, time; "
                "a = np.empty(7654321, dtype=np.uint8); "
                "print(a.__array_interface__['data'][0]); time.sleep(0.5)")
        p = subprocess.run([NDSPY, "watch", "--json", "--"] + argv +
                           ["-c", code], capture_output=True, timeout=60,
                           env=env)
        lines = p.stdout.decode().splitlines()
        addr = next((int(x) for x in lines if x.isdigit()), None)
        ev = [json.loads(x) for x in lines if x.startswith("{")]
        first = [x for x in ev if x["event"] == "alloc" and
                 x["addr"] == addr and x["size"] == 7654321]
        t.ok(p.returncode == 0 and addr and first and
             ev[-1]["event"] == "summary",
             "watch -- COMMAND sees the command's first buffer",
             "exit %d: %s" % (p.returncode, p.stderr.decode()[-600:]))
        t.ok(first and first[0].get("stack") ==
             [{"file": "<string>", "function": "<module>", "line": 1}],
             "watch -- COMMAND: the buffer's stack, <module> at <string>:1",
             first)
    # bad input
    rc, so, se = ndspy_on_sleep("watch")
    t.ok(rc == 3 and "not a Python process" in se,
         "watching a process that is not Python: exit 3", se)
    rc, so, se = ndspy("watch", "core")
    t.ok(rc == 2 and "not a PID" in se, "watch of a core file: exit 2", se)
    rc, so, se = ndspy("watch", "--", "/bin/true")
    t.ok(rc == 3 and "not a Python interpreter" in se,
         "watch -- a command that is not python: exit 3", se)
    rc, so, se = ndspy("watch", "--duration", "x", "1")
    t.ok(rc == 2 and "--duration" in se, "a bad --duration: exit 2", se)
    pidns(t)
    unprivileged(t)
    return t.done()


if __name__ == "__main__":
    sys.exit(in_pidns() if sys.argv[1:] == ["--in-pidns"] else main())
