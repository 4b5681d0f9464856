"""Bad input to `ndspy show`: each a one-line error with the exit status of
DESIGN.md, never a crash, and the target always left running."""
import json
import os
import pwd
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

from tap import Tap, Zoo, ndspy, NDSPY, wait_for

NOT_PYTHON = ["sleep", "300"]
NO_NUMPY = ["-c", "import time; print('ready', flush=True); time.sleep(300)"]


def one_line(se):
    return len(se.strip().splitlines()) == 1 and se.startswith("ndspy: ")


def expect(t, name, args, code, words):
    rc, so, se = ndspy(*args)
    t.ok(rc == code and one_line(se) and all(w in se for w in words),
         "%s: exit %d, one line naming %s" % (name, code, words),
         "exit %d\nstdout: %s\nstderr: %s" % (rc, so[:300], se))


def writable_regions(pid):
    out = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split()
            if parts[1].startswith("rw"):
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                out.append((lo, hi))
    return out


BIG = """
import sys, numpy as np
a = np.ones(32 * 1024 * 1024)
print(id(a), flush=True)
sys.stdin.read()
"""


def interrupted_save(t, python):
    """SIGINT and SIGTERM in the middle of a long --save: the target runs
    on, untraced, and no partial file is left behind."""
    p = subprocess.Popen(python.split() + ["-c", BIG],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    addr = p.stdout.readline().strip().decode()
    out = os.path.join(tempfile.mkdtemp(prefix="ndspy-sig-"), "a.npy")
    bad = []
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            for delay in (0.005, 0.02, 0.05):
                n = subprocess.Popen([NDSPY, "show", str(p.pid), addr,
                                      "--data", "0", "--save", out],
                                     stderr=subprocess.DEVNULL)
                time.sleep(delay)
                n.send_signal(sig)
                n.wait()
                with open("/proc/%d/status" % p.pid) as f:
                    st = dict(l.split(":", 1) for l in f)
                left = [x for x in os.listdir(os.path.dirname(out))
                        if x != "a.npy"]
                if st["State"].split()[0] not in "RS" or \
                        int(st["TracerPid"]) != 0 or left:
                    bad.append((sig, delay, st["State"], st["TracerPid"],
                                left))
    finally:
        p.stdin.close()
        p.wait()
        shutil.rmtree(os.path.dirname(out), ignore_errors=True)
    t.ok(not bad, "SIGINT/SIGTERM during --save: target runs untraced, no "
         "partial file", bad)


def unstoppable(t):
    """A thread that cannot stop (waiting for its vfork child): ndspy reads
    on after 100 ms, and says so on stderr (not only with -v); audit's
    summary counts it."""
    zoo = Zoo(script="held.py")
    try:
        held = wait_for(lambda: any(s == "D" for s, _ in zoo.state()), 5)
        rc, so, se = ndspy("list", "--json", zoo.pid)
        t.ok(held and rc == 0 and so and "did not stop within 100 ms" in se,
             "a thread that cannot stop: list lists, and says so",
             "held %s, exit %d: %s" % (held, rc, se))
        rc, so, se = ndspy("audit", "--json", "--duration", "0.3", zoo.pid)
        summ = [json.loads(x) for x in so.splitlines()
                if '"summary"' in x]
        t.ok(rc == 0 and summ and summ[0]["threads_not_stopped"] >= 1 and
             "did not stop" in se,
             "a thread that cannot stop: audit's summary counts it",
             "exit %d: %s %s" % (rc, so[-300:], se))
    finally:
        with open(os.path.join(zoo.dir, "fifo"), "w"):
            pass  # lets the child go on to exec
        zoo.stop()


COMMANDS = ("show", "list", "why", "stacks", "snapshot", "watch", "audit",
            "top")


def help_examples(t):
    """Every --help ends with "examples:" and 3-6 indented lines, each
    "ndspy COMMAND ...  # comment" for that command (any command for the
    top-level one), using only long options its own options list has."""
    opts, bad = {}, []
    for cmd in COMMANDS:
        rc, so, _ = ndspy(cmd, "--help")
        block = so.split("\noptions:\n", 1)[-1].split("\n\n", 1)[0]
        opts[cmd] = set(re.findall(r"^  (?:-\w, )?(--[a-z][a-z-]*)", block,
                                   re.M))
        if rc != 0 or "--help" not in opts[cmd]:
            bad.append((cmd, "exit %d, options %s" % (rc, sorted(opts[cmd]))))
    for cmd in (None,) + COMMANDS:
        rc, so, _ = ndspy(*([cmd, "--help"] if cmd else ["--help"]))
        last = so.rstrip("\n").split("\n\n")[-1].split("\n")
        if rc != 0 or last[0] != "examples:" or not 3 <= len(last) - 1 <= 6:
            bad.append((cmd, last))
            continue
        for line in last[1:]:
            words = line.split("  # ", 1)[0].split()
            used = words[1] if len(words) > 1 else None
            if not line.startswith("  ndspy ") or "  # " not in line or \
                    used not in ((cmd,) if cmd else COMMANDS):
                bad.append((cmd, line))
                continue
            if "--" in words:  # watch -- COMMAND: not ndspy's options
                words = words[:words.index("--")]
            longs = {w.split("=")[0] for w in words if w.startswith("--")}
            if not longs <= opts[used]:
                bad.append((cmd, line, sorted(longs - opts[used])))
    t.ok(not bad, "every --help ends with examples of its own command and "
         "options", bad)


def main():
    t = Tap("errors")
    python = os.environ.get("PYTHON", "/usr/bin/python3")

    rc, so, _ = ndspy("--help")
    t.ok(rc == 0 and "show" in so, "--help", so)
    rc, so, _ = ndspy("show", "--help")
    t.ok(rc == 0 and "--save" in so and "--no-pause" in so, "show --help", so)
    help_examples(t)
    rc, so, _ = ndspy("--version")
    t.ok(rc == 0 and so.startswith("ndspy "), "--version", so)
    rc, _, se = ndspy()
    t.ok(rc == 2 and "usage" in se, "no command: usage, exit 2", se)
    expect(t, "unknown command", ["frobnicate"], 2, ["unknown command"])
    expect(t, "unknown option", ["show", "--frob", "1", "2"], 2,
           ["unknown option"])
    expect(t, "unknown option in a group", ["list", "-vx", "1"], 2,
           ["unknown option '-x'"])
    expect(t, "a value for a flag", ["list", "--json=3", "1"], 2,
           ["--json takes no value"])
    expect(t, "missing OBJECT", ["show", "1"], 2, ["OBJECT"])
    expect(t, "bad --data", ["show", "--data", "x", "1", "2"], 2, ["--data"])
    expect(t, "TARGET neither a PID nor a file", ["show", "abc", "0x10"], 3,
           ["not a process ID", "no such file"])
    expect(t, "TARGET a PID out of range", ["show", "99999999999", "0x10"],
           2, ["not a process ID"])

    # a process that is gone
    p = subprocess.Popen(["true"])
    p.wait()
    expect(t, "no such process", ["show", p.pid, "0x1000"], 3,
           ["no such process"])

    # a process without Python, and a Python without NumPy
    sleeper = subprocess.Popen(NOT_PYTHON)
    nonumpy = subprocess.Popen(python.split() + NO_NUMPY,
                               stdout=subprocess.PIPE)
    try:
        # Popen returns once sleep runs; the Python may still be chroot
        nonumpy.stdout.readline()
        expect(t, "not a Python process", ["show", sleeper.pid, "0x1000"], 3,
               ["not a Python process"])
        expect(t, "Python without NumPy", ["show", nonumpy.pid, "0x1000"], 3,
               ["without NumPy"])
    finally:
        sleeper.kill()
        nonumpy.kill()

    interrupted_save(t, python)
    unstoppable(t)

    # a Python ndspy does not know: a clear refusal naming versions
    old = os.environ.get("NDSPY_PYENV_OLD",
                         "/root/.pyenv/versions/3.8.18/bin/python3.8")
    if os.path.exists(old):
        p = subprocess.Popen([old, "-c", "import time; time.sleep(300)"])
        time.sleep(0.3)
        try:
            expect(t, "unsupported Python", ["show", p.pid, "0x1000"], 3,
                   ["Python 3.8 is not supported", "3.9-3.15"])
        finally:
            p.kill()
    else:
        t.skip("unsupported Python", "no pyenv Python 3.8 at " + old)

    zoo = Zoo()
    try:
        pid = zoo.pid
        objs = zoo.truth["objects"]
        some = objs["nb_int32"]
        for bad in ("xyz", "0x", "12abc", "0x1g", "", "1.5", "a..b", ".a",
                    "@", "a b.c"):
            expect(t, "malformed OBJECT %r" % bad, ["show", pid, bad], 2,
                   ["is not an"])
        expect(t, "unknown module", ["show", pid, "nosuchmod.x"], 1,
               ["no module of that name"])
        expect(t, "unknown global", ["show", pid, "__main__.nosuch"], 1,
               ["__main__ has no global 'nosuch'"])
        expect(t, "unknown attribute", ["show", pid, "__main__.model.nosuch"],
               1, ["__main__.model has no attribute 'nosuch'"])
        expect(t, "unknown inline attribute",
               ["show", pid, "__main__.inline_model.gone"], 1,
               ["__main__.inline_model has no attribute 'gone'"])
        expect(t, "unknown attribute of an object with __slots__",
               ["show", pid, "__main__.slotted.nosuch"], 1,
               ["__main__.slotted has no attribute 'nosuch'"])
        expect(t, "unknown attribute of an object without a managed dict",
               ["show", pid, "__main__.failure.nosuch"], 1,
               ["__main__.failure has no attribute 'nosuch'"])
        expect(t, "a global that is not an array",
               ["show", pid, "__main__.KEEP"], 1, ["holds a Python list"])
        expect(t, "unknown symbol", ["show", pid, "@no_such_symbol_here"], 1,
               ["no such symbol"])
        expect(t, "unmapped address", ["show", pid, "0x10"], 1,
               ["not mapped"])
        expect(t, "negative OBJECT", ["show", pid, "-5"], 2, ["-5"])
        for kind, addr in sorted(zoo.truth["not_arrays"].items()):
            expect(t, "a %s is not an array" % kind, ["show", pid, addr], 1,
                   ["holds a Python %s, not a numpy.ndarray" % kind])
        expect(t, "data pointer is not an object",
               ["show", pid, some["data"]], 1, [])
        expect(t, "unwritable --save",
               ["show", pid, some["address"], "--save",
                "/nonexistent-dir/x.npy"], 2, ["cannot write", "/nonexistent-dir"])
        d = tempfile.mkdtemp(prefix="ndspy-dest-")
        expect(t, "--save to a directory", ["show", pid, some["address"],
                                            "--save", d], 2,
               ["cannot write", "Is a directory"])
        real = os.path.join(d, "real.npy")
        link = os.path.join(d, "link.npy")
        open(real, "w").close()
        os.symlink(real, link)
        rc, _, se = ndspy("show", pid, some["address"], "--save", link)
        t.ok(rc == 0 and os.path.islink(link) and
             os.path.getsize(real) > 128,
             "--save through a symlink writes the file it names", se)
        rc, _, se = ndspy("show", pid, some["address"], "--save",
                          "/dev/null")
        t.ok(rc == 0 and os.path.exists("/dev/null") and
             stat.S_ISCHR(os.stat("/dev/null").st_mode),
             "--save /dev/null writes into the device, never replaces it", se)
        dangling = os.path.join(d, "dangling.npy")
        os.symlink(os.path.join(d, "made.npy"), dangling)
        rc, _, se = ndspy("show", pid, some["address"], "--save", dangling)
        t.ok(rc == 0 and os.path.islink(dangling) and
             os.path.getsize(os.path.join(d, "made.npy")) > 128,
             "--save through a dangling symlink creates the file it names",
             se)
        os.chmod(real, 0o600)
        rc, _, se = ndspy("show", pid, some["address"], "--save", real)
        t.ok(rc == 0 and stat.S_IMODE(os.stat(real).st_mode) == 0o600,
             "--save over a file keeps its mode", se)
        # a pipe nobody drains: the target must not wait for it
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        keep = os.open(fifo, os.O_RDWR)
        big = objs["nb_c_order"]
        n = subprocess.Popen([NDSPY, "show", str(pid), str(big["address"]),
                              "--data", "0", "--save", fifo],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        released = zoo.running_untraced()
        got = b""
        while n.poll() is None or len(got) < 128 + big["nbytes"]:
            chunk = os.read(keep, 1 << 16)
            got += chunk
            if not chunk or len(got) >= 128 + big["nbytes"]:
                break
        n.wait()
        os.close(keep)
        with open(os.path.join(zoo.dir, "nb_c_order.npy"), "rb") as f:
            want = f.read()
        t.ok(released and n.returncode == 0 and got == want,
             "--save into a pipe: the target runs while the pipe fills, "
             "and gets what np.save writes",
             "released %s, exit %s, %d bytes of %d" % (released, n.returncode,
                                                       len(got), len(want)))
        shutil.rmtree(d, ignore_errors=True)
        expect(t, "--save with two objects",
               ["show", pid, some["address"], some["address"], "--save",
                "/tmp/x.npy"], 2, ["exactly one"])
        t.ok(not os.path.exists("/nonexistent-dir/x.npy"),
             "nothing written for a refused --save")

        # mixed: a good and a bad object -> both reported, exit 1
        rc, so, se = ndspy("show", "--json", pid, some["address"], "0x10")
        t.ok(rc == 1 and so.count("\n") == 1 and "not mapped" in se,
             "a good and a bad OBJECT: the good one printed, exit 1", se)

        # garbage: random addresses inside writable memory, and absurd ones
        random.seed(1234)
        regions = writable_regions(pid)
        addrs = [random.randrange(lo, hi) & ~7 for lo, hi in
                 random.sample(regions, min(len(regions), 40))
                 for _ in range(5)]
        addrs += [0, 1, 2**47, 2**63, 2**64 - 8]
        crashes = []
        for a in addrs:
            rc, so, se = ndspy("show", pid, a, "--data", "50", timeout=20)
            if rc not in (0, 1) or (rc == 1 and not one_line(se)):
                crashes.append((hex(a), rc, se[:200]))
        t.ok(not crashes, "%d garbage addresses: exit 0 or 1, one-line "
             "errors" % len(addrs), crashes)
        t.ok(zoo.proc.poll() is None and zoo.running_untraced(),
             "the zoo is alive, running and untraced", zoo.state())

        # permission: an unprivileged user cannot open a root process
        user = None
        for name in ("nobody", "daemon"):
            try:
                user = pwd.getpwnam(name)
                break
            except KeyError:
                pass
        setpriv = shutil.which("setpriv")
        if os.geteuid() != 0 or not user or not setpriv:
            t.skip("permission denied", "needs root, setpriv and 'nobody'")
        else:
            p = subprocess.run(
                [setpriv, "--reuid=%d" % user.pw_uid,
                 "--regid=%d" % user.pw_gid, "--clear-groups",
                 "--inh-caps=-all", NDSPY, "show", str(pid),
                 str(some["address"])], capture_output=True)
            se = p.stderr.decode()
            t.ok(p.returncode == 3 and one_line(se) and "permission" in se,
                 "unprivileged user: exit 3, permission denied", se)
    finally:
        zoo.stop()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
