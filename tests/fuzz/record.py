"""Records the fuzzers' seeds (tests/fuzz/seeds/) from real processes:
  record.py
  record.py --live-core DIR
The second writes DIR/python-S: the kernel core of a Python without site
or NumPy, anonymous memory included (4 MiB: too big to commit, made by
each fuzzing run), so that fuzz_core also reaches the thread states and
frames that `stacks` reads; and DIR/snapshot-S, `ndspy snapshot` of such
a process, so that it also reads the notes and line-sized segments of
snapshot files.
decode/: for the zoo of each pair of the matrix (tests/matrix/targets), the bytes decoding each array reads
(build/tests/record). core/: kernel and gdb cores of Python processes with
and without NumPy, trimmed by /proc/PID/coredump_filter to their notes
and the first page of each ELF file, so that each is a few hundred KiB."""
import glob
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from tap import Zoo  # noqa: E402

RECORD = os.path.join(ROOT, "build", "tests", "record")
NDSPY = os.path.join(ROOT, "build", "ndspy")
SEEDS = os.path.join(HERE, "seeds")
ELF_HEADERS_ONLY = "0x10"


def decode_seeds(label, python, root):
    zoo = Zoo(python=python, root=root)
    try:
        addrs = [str(o["address"]) for o in zoo.truth["objects"].values()]
        subprocess.run([RECORD, os.path.join(SEEDS, "decode"), label,
                        str(zoo.pid)] + addrs, check=True)
    finally:
        zoo.stop()


def kernel_core(out, argv, dump_filter=ELF_HEADERS_ONLY):
    """The core of argv dying of SIGABRT, with dump_filter (default: ELF
    headers and notes only)."""
    tmp = tempfile.mkdtemp(prefix="ndspy-seed-")
    try:
        p = subprocess.Popen(
            argv, cwd=tmp, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            preexec_fn=lambda: __import__("resource").setrlimit(
                __import__("resource").RLIMIT_CORE, (-1, -1)))
        p.stdout.readline()
        with open("/proc/%d/coredump_filter" % p.pid, "w") as f:
            f.write(dump_filter)
        time.sleep(0.3)  # from "ready" into the read it waits in
        p.send_signal(signal.SIGABRT)
        p.wait()
        cores = glob.glob(os.path.join(tmp, "core*"))
        if not cores:
            raise RuntimeError("no core from %s (core_pattern?)" % argv)
        shutil.move(cores[0], out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def elf_headers_only(src, out):
    """The core with what the kernel keeps under ELF_HEADERS_ONLY: notes,
    and of each PT_LOAD only a first page holding an ELF header (gcore
    ignores most of the filter)."""
    with open(src, "rb") as f:
        data = f.read()
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    body = bytearray(data[:phoff + phentsize * phnum])
    for i in range(phnum):
        at = phoff + i * phentsize
        ptype, flags, off, vaddr, paddr, filesz, memsz, align = \
            struct.unpack_from("<IIQQQQQQ", data, at)
        keep = filesz if ptype != 1 else \
            (4096 if data[off:off + 4] == b"\x7fELF" else 0)
        keep = min(keep, filesz)
        new_off = len(body)
        body += data[off:off + keep]
        struct.pack_into("<IIQQQQQQ", body, at, ptype, flags, new_off,
                         vaddr, paddr, keep, memsz, align)
    with open(out, "wb") as f:
        f.write(body)


def gdb_core(out, argv):
    """gcore's core of argv, trimmed as the kernel's is."""
    tmp = tempfile.mkdtemp(prefix="ndspy-seed-")
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        p.stdout.readline()
        with open("/proc/%d/coredump_filter" % p.pid, "w") as f:
            f.write(ELF_HEADERS_ONLY)
        subprocess.run(["gcore", "-o", os.path.join(tmp, "core"),
                        str(p.pid)], check=True, capture_output=True)
        elf_headers_only(os.path.join(tmp, "core.%d" % p.pid), out)
    finally:
        p.kill()
        p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


WAITS = "import sys; print('ready', flush=True); sys.stdin.read()"


def snapshot(out, argv):
    """`ndspy snapshot` of argv waiting in its read."""
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        p.stdout.readline()
        time.sleep(0.3)
        subprocess.run([NDSPY, "snapshot", str(p.pid), "-o", out],
                       check=True, capture_output=True, timeout=60)
    finally:
        p.kill()
        p.wait()


def live_core(d):
    os.makedirs(d, exist_ok=True)
    frames = "def inner(): sys.stdin.read()\ndef outer(): inner()\n"
    argv = ["/usr/bin/python3", "-S", "-c",
            "import sys\n" + frames + WAITS.replace("sys.stdin.read()",
                                                   "outer()")]
    kernel_core(os.path.join(d, "python-S"), argv,
                dump_filter="0x11")  # anonymous private memory too
    snapshot(os.path.join(d, "snapshot-S"), argv)


def core_seeds():
    d = os.path.join(SEEDS, "core")
    waits = WAITS
    numpy = "import numpy as np; a = np.arange(10); " + waits
    kernel_core(os.path.join(d, "kernel-numpy"),
                ["/usr/bin/python3", "-c", numpy])
    kernel_core(os.path.join(d, "kernel-nonumpy"),
                ["/usr/bin/python3", "-S", "-c", waits])
    gdb_core(os.path.join(d, "gcore-numpy"),
             ["/usr/bin/python3", "-c", numpy])


def main():
    if sys.argv[1:2] == ["--live-core"]:
        live_core(sys.argv[2])
        return
    for sub in ("decode", "core"):
        shutil.rmtree(os.path.join(SEEDS, sub), ignore_errors=True)
        os.makedirs(os.path.join(SEEDS, sub))
    pairs = subprocess.run([os.path.join(ROOT, "tests", "matrix", "targets")],
                           stdout=subprocess.PIPE, text=True).stdout
    for label, root, python in (line.split() for line in pairs.splitlines()):
        if root == "/":
            decode_seeds(label, python, "")
        else:
            decode_seeds(label, "chroot %s %s" % (root, python), root)
    core_seeds()


if __name__ == "__main__":
    main()
