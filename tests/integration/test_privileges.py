"""ndspy run by an unprivileged user against a process of root's: every
command exits 3 with one line naming the capabilities that are missing
(CAP_SYS_PTRACE to read or pause it; CAP_BPF and CAP_PERFMON for the
probes of watch and audit), and only those: given CAP_SYS_PTRACE, reads
work and watch names only the BPF ones; given those, watch names only
CAP_SYS_PTRACE. The target runs on untouched.

The user is ndspy-test, a system account made here if missing and left in
place: suites run concurrently (make check, several people on one
machine), and removing it at the end of one run would pull it from under
another; with no home, no password and no login shell it grants nothing.
What is checked is ndspy's privileges, not the target's Python: it runs
once, on the host's Python, and the matrix runs skip it."""
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

from tap import NDSPY, Tap, Zoo, end_process

USER = "ndspy-test"
HOST_PYTHON = "/usr/bin/python3"

TARGET = """
import sys
import numpy as np
a = np.arange(12)
print(id(a), flush=True)
for line in sys.stdin:
    print(line.strip(), flush=True)
"""

# (name, arguments after the PID, what the message must name)
COMMANDS = [
    ("show", ["show", "{pid}", "{addr}"], ["CAP_SYS_PTRACE"]),
    ("show --no-pause", ["show", "--no-pause", "{pid}", "{addr}"],
     ["CAP_SYS_PTRACE"]),
    ("list", ["list", "{pid}"], ["CAP_SYS_PTRACE"]),
    ("list --no-pause", ["list", "--no-pause", "{pid}"], ["CAP_SYS_PTRACE"]),
    ("stacks", ["stacks", "{pid}"], ["CAP_SYS_PTRACE"]),
    ("watch", ["watch", "--duration", "1", "{pid}"],
     ["CAP_BPF", "CAP_PERFMON", "CAP_SYS_PTRACE"]),
    ("audit", ["audit", "--duration", "1", "{pid}"],
     ["CAP_BPF", "CAP_PERFMON", "CAP_SYS_PTRACE"]),
]


class Target:
    """Root's Python process; state() and running_untraced() as the
    zoo's."""
    state = Zoo.state
    running_untraced = Zoo.running_untraced

    def __init__(self):
        self.proc = subprocess.Popen([HOST_PYTHON, "-c", TARGET],
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
        self.pid = self.proc.pid
        self.addr = self.proc.stdout.readline().decode().strip()

    def answers(self):
        self.proc.stdin.write(b"still there\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline() == b"still there\n"

    def stop(self):
        end_process(self.proc)


def ensure_user():
    """The unprivileged user's (uid, gid)."""
    try:
        pw = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home",
                        "--shell", "/usr/sbin/nologin", USER], check=True,
                       capture_output=True)
        pw = pwd.getpwnam(USER)
    return pw.pw_uid, pw.pw_gid


def as_user(uid, gid, caps, exe, args):
    """(exit status, stdout, stderr) of exe ARGS run as uid:gid holding
    only caps (setpriv names, e.g. "sys_ptrace")."""
    raise_caps = ",".join("+" + c for c in caps)
    drop = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid,
            "--clear-groups", "--inh-caps=" + ("-all," + raise_caps
                                               if caps else "-all")]
    if caps:
        drop.append("--ambient-caps=" + raise_caps)
    p = subprocess.run(drop + [exe] + args, capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace"), \
        p.stderr.decode("utf-8", "replace")


def one_line(se):
    return len(se.strip().splitlines()) == 1 and se.startswith("ndspy: ")


def main():
    t = Tap("privileges")
    names = [n for n, _, _ in COMMANDS] + ["with CAP_SYS_PTRACE only",
                                           "with CAP_BPF and CAP_PERFMON only",
                                           "the target afterwards"]
    why = None
    if os.geteuid() != 0:
        why = "needs root, to make a user and to own the target"
    elif os.environ.get("NDSPY_TARGET_ROOT") or \
            os.environ.get("PYTHON", HOST_PYTHON) != HOST_PYTHON:
        why = "checks ndspy's privileges, not the target's Python: run " \
              "once, on the host's"
    if why:
        for n in names:
            t.skip(n, why)
        return t.done()
    uid, gid = ensure_user()
    # a copy the user can run, wherever the checkout is
    tmp = tempfile.mkdtemp(prefix="ndspy-priv-")
    os.chmod(tmp, 0o755)
    exe = os.path.join(tmp, "ndspy")
    shutil.copy(NDSPY, exe)
    target = Target()
    try:
        fill = {"pid": str(target.pid), "addr": target.addr}
        for name, args, words in COMMANDS:
            args = [a.format(**fill) for a in args]
            rc, so, se = as_user(uid, gid, [], exe, args)
            others = [c for c in ("CAP_SYS_PTRACE", "CAP_BPF", "CAP_PERFMON")
                      if c not in words]
            t.ok(rc == 3 and one_line(se) and all(w in se for w in words)
                 and not any(c in se for c in others),
                 "%s as %s: exit 3, one line naming %s and no other "
                 "capability" % (name, USER, ", ".join(words)),
                 "exit %d\nstdout: %s\nstderr: %s" % (rc, so[:300], se))
        # each message names what is missing, not what is there
        rc, so, se = as_user(uid, gid, ["sys_ptrace"], exe,
                             ["show", "--data", "0", fill["pid"],
                              fill["addr"]])
        rc2, _, se2 = as_user(uid, gid, ["sys_ptrace"], exe,
                              ["watch", "--duration", "1", fill["pid"]])
        t.ok(rc == 0 and "dtype('int64')" in so and rc2 == 3 and
             "CAP_BPF" in se2 and "CAP_PERFMON" in se2 and
             "CAP_SYS_PTRACE" not in se2,
             "with CAP_SYS_PTRACE only: show works; watch names CAP_BPF and "
             "CAP_PERFMON only",
             "show: exit %d %s%s\nwatch: exit %d %s" % (rc, so[:300], se,
                                                         rc2, se2))
        rc, _, se = as_user(uid, gid, ["bpf", "perfmon"], exe,
                            ["watch", "--duration", "1", fill["pid"]])
        t.ok(rc == 3 and one_line(se) and "CAP_SYS_PTRACE" in se and
             "CAP_BPF" not in se,
             "with CAP_BPF and CAP_PERFMON only: watch names CAP_SYS_PTRACE "
             "only", "exit %d: %s" % (rc, se))
        t.ok(target.running_untraced() and target.answers(),
             "the target afterwards: runs untraced and answers",
             target.state())
    finally:
        target.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
