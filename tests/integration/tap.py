"""A little TAP producer shared by the integration suites, and the zoo
process they all inspect."""
import json
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NDSPY = os.environ.get("NDSPY", os.path.join(ROOT, "build", "ndspy"))
# Started in the background by a shell without job control, the suites
# inherit SIGINT ignored, and so would every program they start: a SIGINT
# that reaches ndspy before it installs its handler would be dropped, and a
# watch would run on. exec resets a handled signal to the default.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


class Tap:
    def __init__(self, suite):
        self.suite = suite
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        print("%s %d - %s: %s" % ("ok" if cond else "not ok", self.n,
                                   self.suite, name))
        if not cond:
            self.failed += 1
            for line in str(diag or "").splitlines()[:40]:
                print("#   " + line)
        sys.stdout.flush()
        return cond

    def skip(self, name, why):
        self.n += 1
        print("ok %d - %s: %s # SKIP %s" % (self.n, self.suite, name, why))

    def done(self):
        print("1..%d" % self.n)
        sys.stdout.flush()
        return 1 if self.failed else 0


def ndspy(*args, timeout=60, env=None):
    """Runs ndspy; returns (exit status, stdout, stderr)."""
    p = subprocess.run([NDSPY] + [str(a) for a in args], capture_output=True,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout.decode("utf-8", "replace"), \
        p.stderr.decode("utf-8", "replace")


def check_gil(t, truth):
    """On a free-threaded target (truth from the target: its build's
    Py_GIL_DISABLED and sys._is_gil_enabled()), that the GIL stayed off:
    what ndspy read was read from threads running free."""
    if truth.get("free_threaded"):
        t.ok(truth.get("gil") is False,
             "the free-threaded target runs without the GIL", truth)


def python_command():
    """$PYTHON as (environment, argv) running the interpreter itself: a
    wrapper (a pair of tests/matrix/targets that needs environment
    variables) is asked for its executable and its environment."""
    python = os.environ.get("PYTHON", "/usr/bin/python3")
    r = subprocess.run(python.split() + [
        "-c", "import json, os, sys; "
        "print(json.dumps([sys.executable, dict(os.environ)]))"],
        capture_output=True, text=True, timeout=60)
    exe, env = json.loads(r.stdout)
    return env, [exe]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def build_extension(python, root, out_dir, source, name, flags=()):
    """OUT_DIR/NAME.so: tests/integration/SOURCE built against the target
    Python's own headers (python: the command running it; root: its
    chroot, or "")."""
    r = subprocess.run(python.split() + ["-c",
                       "import sysconfig; print(sysconfig.get_paths()"
                       "['include'])"], capture_output=True, text=True)
    inc = root + r.stdout.strip()
    so = os.path.join(out_dir, name + ".so")
    flags = ["-I" + inc] + list(flags)
    # Debian's pyconfig.h includes <x86_64-linux-gnu/python3.X/...>
    arch = os.path.join(root + "/usr/include/x86_64-linux-gnu",
                        os.path.basename(inc))
    if os.path.isdir(arch):
        shim = os.path.join(out_dir, "shim", "x86_64-linux-gnu")
        os.makedirs(shim, exist_ok=True)
        link = os.path.join(shim, os.path.basename(inc))
        if not os.path.exists(link):
            os.symlink(arch, link)
        flags.append("-I" + os.path.dirname(shim))
    subprocess.run(["gcc", "-shared", "-fPIC", "-g", "-O1",
                    os.path.join(HERE, source), "-o", so] + flags, check=True)
    return so


def unlimited_cores():
    resource.setrlimit(resource.RLIMIT_CORE,
                       (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def gcore(pid, prefix):
    """A core of the live process pid, written by gdb's gcore."""
    p = subprocess.run(["gcore", "-o", prefix, str(pid)], capture_output=True,
                       timeout=120)
    path = "%s.%d" % (prefix, pid)
    if p.returncode or not os.path.exists(path):
        raise RuntimeError("gcore %d failed: %s" % (pid, p.stderr[-400:]))
    return path


def core_phdrs(data):
    """(type, offset, vaddr, filesz, where the header is) of each program
    header of an ELF core's bytes."""
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phnum, = struct.unpack_from("<H", data, 0x38)
    for i in range(phnum):
        typ, _, off, vaddr, _, size, _, _ = struct.unpack_from(
            "<IIQQQQQQ", data, phoff + 56 * i)
        yield typ, off, vaddr, size, phoff + 56 * i


def core_mappings(path):
    """(start, end, page offset, file) of each mapping an ELF core's NT_FILE
    note names."""
    with open(path, "rb") as f:
        data = f.read()
    out = []
    for typ, off, _, size, _ in core_phdrs(data):
        at = off
        while typ == 4 and at + 12 <= off + size:   # PT_NOTE
            namesz, descsz, kind = struct.unpack_from("<III", data, at)
            desc = at + 12 + (namesz + 3) // 4 * 4
            if kind == 0x46494c45:   # NT_FILE
                count, = struct.unpack_from("<Q", data, desc)
                names = data[desc + 16 + 24 * count:desc + descsz]
                for i, name in enumerate(names.split(b"\0")[:count]):
                    out.append(struct.unpack_from(
                        "<QQQ", data, desc + 16 + 24 * i) + (name.decode(),))
            at = desc + (descsz + 3) // 4 * 4
    return out


def core_files(path):
    """The files an ELF core's NT_FILE note names, in order, once each."""
    out = []
    for _, _, _, name in core_mappings(path):
        if name not in out:
            out.append(name)
    return out


class Zoo:
    """The zoo process, alive until stop(). It runs under $PYTHON (a command,
    e.g. "chroot DIR /usr/bin/python3"); with $NDSPY_TARGET_ROOT set to such
    a chroot, its files are placed inside it and read from outside.
    target is what the suites give ndspy: the PID or, with $NDSPY_CORE=1,
    a gcore core of the zoo (the live zoo stays the ground truth)."""

    def __init__(self, python=None, root=None, script="zoo.py", args=(),
                 dumps_core=False):
        python = python or os.environ.get("PYTHON", "/usr/bin/python3")
        root = root if root is not None else \
            os.environ.get("NDSPY_TARGET_ROOT", "")
        self.dir = tempfile.mkdtemp(
            prefix="ndspy-test-",
            dir=os.path.join(root, "tmp") if root else None)
        inside = self.dir[len(root):] if root else self.dir
        shutil.copy(os.path.join(HERE, script), self.dir)
        self.proc = subprocess.Popen(
            python.split() + [os.path.join(inside, script),
                              os.path.join(inside, "truth.json"), inside]
            + list(args),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            preexec_fn=unlimited_cores if dumps_core else None)
        line = self.proc.stdout.readline()
        if line.strip() != b"ready":
            self.stop()
            raise RuntimeError("zoo did not start: %r" % line)
        with open(os.path.join(self.dir, "truth.json")) as f:
            self.truth = json.load(f)
        self.pid = self.truth["pid"]
        self.core = bool(os.environ.get("NDSPY_CORE"))
        self.target = gcore(self.pid, os.path.join(self.dir, "core")) \
            if self.core else self.pid

    def state(self):
        """(State letter, TracerPid) of every thread, from /proc."""
        out = []
        for tid in os.listdir("/proc/%d/task" % self.pid):
            st = {}
            with open("/proc/%d/task/%s/status" % (self.pid, tid)) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    st[k] = v.strip()
            out.append((st["State"][0], int(st["TracerPid"])))
        return out

    def running_untraced(self):
        return all(s in "RS" and tracer == 0 for s, tracer in self.state())

    def stop(self):
        end_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def end_process(proc):
    """Ends a target that runs until its stdin closes; killed if it does
    not end within 10 s."""
    try:
        proc.stdin.close()
        proc.wait(timeout=10)
    except Exception:
        proc.kill()
        proc.wait()


def ndspy_on_sleep(*args):
    """ndspy ARGS... PID, PID a process that is not Python (sleep)."""
    sleep = subprocess.Popen(["sleep", "60"])
    try:
        return ndspy(*(args + (sleep.pid,)))
    finally:
        sleep.kill()
        sleep.wait()


def start_watch(pid, *opts, out=subprocess.PIPE):
    """A running `ndspy watch -v OPTS... PID`, once its probes are in (the
    two lines -v prints then). Its output goes to OUT: a file where it is
    long, since a pipe nobody reads stops the watch draining its ring."""
    p = subprocess.Popen([NDSPY, "watch", "-v"] + list(opts) + [str(pid)],
                         stdout=out, stderr=subprocess.PIPE)
    lines = [p.stderr.readline().decode() for _ in range(2)]
    return p, lines


def watch_leftovers():
    """What a watch leaves in the kernel while its uprobes are attached:
    ndspy's eBPF programs still loaded (links hold them), and probe keepers
    (the process that closes the links last) still running. `bpftool perf
    list` cannot tell: it sees perf event descriptors, and a keeper holds
    only links."""
    out = subprocess.run(["bpftool", "prog", "show", "--json"],
                         capture_output=True, text=True).stdout or "[]"
    left = [p["name"] for p in json.loads(out)
            if p.get("name") in ("on_track", "on_untrack")]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/comm" % pid) as f:
                if f.read().strip() == "ndspy-probes":
                    left.append("keeper %s" % pid)
        except OSError:
            pass
    return left


def wait_for(pred, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()
