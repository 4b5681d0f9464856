"""Core files the kernel writes: a process that built arrays and called
os.abort() is listed, shown and saved from its core as NumPy saw it; its
threads' Python stacks are the ones traceback recorded. Then cores that are
damaged, foreign or stale: each a clear error with exit status 3."""
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time

from tap import (Tap, Zoo, core_files, core_mappings, core_phdrs, ndspy,
                 unlimited_cores, wait_for)


def kernel_core(directory, pid):
    """The core the kernel wrote for pid (core_pattern 'core' here)."""
    for name in ("core", "core.%d" % pid):
        path = os.path.join(directory, name)
        if wait_for(lambda: os.path.exists(path), 1.0):
            # the kernel may still be writing it: wait for its size to settle
            size = -1
            while size != os.path.getsize(path):
                size = os.path.getsize(path)
                time.sleep(0.2)
            return path
    return None


def check_core(t, zoo, core, opts):
    truth = zoo.truth
    rc, so, se = ndspy("list", "--json", core, *opts)
    listed = {x["address"]: x for x in map(json.loads, so.splitlines())} \
        if rc == 0 else {}
    missing = [n for n, a in truth["arrays"].items()
               if a["address"] not in listed]
    t.ok(rc == 0 and not missing, "list finds the arrays in the kernel core",
         "exit %d %s; missing %s" % (rc, se, missing))
    for name, a in truth["arrays"].items():
        rc, so, se = ndspy("show", "--json", core, a["address"], *opts)
        got = json.loads(so) if rc == 0 else {}
        ours = {"shape": got.get("shape"), "strides": got.get("strides"),
                "data": got.get("data"), "str": got.get("dtype", {}).get("str")}
        want = {k: a[k] for k in ours}
        t.ok(ours == want, "show %s: shape, strides, data, dtype as NumPy "
             "said" % name, "ours %s\nnumpy %s\n%s" % (ours, want, se))
    out = os.path.join(zoo.dir, "ours.npy")
    rc, so, se = ndspy("show", core, truth["arrays"]["view"]["address"],
                       "--save", out, *opts)
    with open(os.path.join(zoo.dir, "view.npy"), "rb") as f:
        theirs = f.read()
    ours = open(out, "rb").read() if rc == 0 else b""
    if tuple(int(x) for x in truth["numpy"].split(".")[:2]) >= (1, 24):
        t.ok(ours == theirs, "--save from the core is byte-identical to "
             "np.save", "exit %d %s" % (rc, se))
    else:
        t.ok(rc == 0 and ours[-len(theirs) + 128:] == theirs[128:],
             "--save from the core holds np.save's data", se)
    rc, so, se = ndspy("stacks", "--json", core, *opts)
    ts = {x["tid"]: x for x in map(json.loads, so.splitlines())} \
        if rc == 0 else {}
    for who in ("main", "worker"):
        th = ts.get(truth[who + "_tid"], {"frames": []})
        got = [[f["file"], f["function"], f["line"]] for f in th["frames"]
               if f["kind"] == "python"]
        t.ok(got == truth[who], "stacks: the %s thread's Python frames equal "
             "traceback's" % who, "ours %s\ntraceback %s\n%s" %
             (got, truth[who], se))


def place(src, dst):
    """A file of the host at dst: a hard link where it can be, a copy."""
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy(src, dst)


def moved_exe(t, core, directory):
    """--sysroot and --exe: a root holding the libraries but not the
    interpreter, which is somewhere else."""
    root = os.path.join(directory, "root")
    os.makedirs(os.path.join(root, "usr", "bin"))
    for path in core_files(core):
        if path.startswith("/usr/lib/"):
            place(path, root + path)
    exe = os.path.join(directory, "python-elsewhere")
    real = os.path.realpath("/usr/bin/python3")
    shutil.copy(real, exe)
    rc, so, se = ndspy("list", core, "--sysroot", root)
    t.ok(rc == 3 and root + real in se, "--sysroot without the "
         "interpreter: exit 3, names it", "exit %d: %s" % (rc, se))
    rc, so, se = ndspy("list", core, "--sysroot", root, "--exe", exe)
    t.ok(rc == 0 and bool(re.search(r"^\d+ arrays?; ", so, re.M)),
         "--exe: the interpreter read from "
         "where it is now", "exit %d: %s" % (rc, se))
    return root, exe


def escapes(t, core, directory, exe):
    """A core from an untrusted source cannot lead reads out of --sysroot:
    not by an absolute symlink in the root, not by "../" in its NT_FILE."""
    linked = os.path.join(directory, "linked")
    os.makedirs(os.path.join(linked, "usr"))
    os.symlink("/usr/lib", os.path.join(linked, "usr", "lib"))
    rc, so, se = ndspy("list", core, "--sysroot", linked, "--exe", exe)
    t.ok(rc == 3 and "cannot be opened" in se, "--sysroot: an absolute "
         "symlink in the root stays in it (no host file is read)",
         "exit %d: %s" % (rc, se))
    # NT_FILE names NumPy's module "/../out////NAME": joined naively to the
    # root, that is a copy of it beside the root, which would serve
    numpy = next(p for p in core_files(core) if "_multiarray_umath" in p)
    name = os.path.basename(numpy)
    forged = "/../out" + "/" * (len(numpy) - len(name) - 7) + name
    place(numpy, os.path.normpath(os.path.join(directory, "root") + forged))
    with open(core, "rb") as f:
        data = f.read()
    bad = os.path.join(directory, "forged")
    with open(bad, "wb") as f:
        f.write(data.replace(numpy.encode() + b"\0", forged.encode() + b"\0"))
    rc, so, se = ndspy("list", bad, "--sysroot",
                       os.path.join(directory, "root"), "--exe", exe)
    t.ok(rc == 3 and "cannot be opened" in se and forged in se,
         "--sysroot: an NT_FILE path with '..' stays in the root",
         "exit %d: %s" % (rc, se))


def unchecked_file(t, core, directory, exe):
    """A core that kept no page of a file (its first page's segment made
    empty here): the file is read as it is now, and the user is told."""
    with open(core, "rb") as f:
        data = bytearray(f.read())
    real = os.path.realpath("/usr/bin/python3")
    head = next(s for s, _, off, name in core_mappings(core)
                if name == real and off == 0)
    for typ, _, vaddr, _, at in core_phdrs(bytes(data)):
        if typ == 1 and vaddr == head:   # PT_LOAD: p_filesz at +32
            struct.pack_into("<Q", data, at + 32, 0)
    kept = os.path.join(directory, "unchecked")
    with open(kept, "wb") as f:
        f.write(data)
    rc, so, se = ndspy("stacks", kept, "--exe", exe)
    t.ok(rc == 0 and "%s is read as it is now" % real in se,
         "a file the core kept no page of: read, and the user told",
         "exit %d: %s" % (rc, se))
    rc, so, se = ndspy("stacks", core, "--exe", exe)
    t.ok(rc == 0 and "as it is now" not in se,
         "a file the core kept the first page of: checked, nothing said", se)


def bad_cores(t, good, directory):
    """Damaged, foreign and stale cores: exit 3 and a message that says so."""
    def refused(label, path, want, *opts):
        rc, so, se = ndspy("list", path, *opts)
        t.ok(rc == 3 and want in se, "%s: exit 3, says '%s'" % (label, want),
             "exit %d: %s" % (rc, se))

    cut = os.path.join(directory, "truncated")
    with open(good, "rb") as f, open(cut, "wb") as g:
        g.write(f.read(os.path.getsize(good) * 3 // 5))
    refused("a truncated core", cut, "truncated")
    text = os.path.join(directory, "text")
    with open(text, "w") as f:
        f.write("not a core\n" * 100)
    refused("a text file", text, "not an ELF core file")
    refused("an ELF program", "/bin/true", "not an ELF core file")
    refused("no such file", os.path.join(directory, "nothing"),
            "no such file")
    refused("its files missing (--sysroot elsewhere)", good, "--sysroot",
            "--sysroot", "/nonexistent")
    refused("an executable changed since (--exe another file)", good,
            "changed since the core was written", "--exe", "/bin/true")
    # a program that is not Python
    p = subprocess.Popen(["sleep", "60"], cwd=directory,
                         preexec_fn=unlimited_cores)
    time.sleep(0.2)
    p.send_signal(signal.SIGABRT)
    p.wait()
    sleep_core = kernel_core(directory, p.pid)
    if sleep_core:
        refused("a core of sleep", sleep_core, "not a Python process")
    else:
        t.skip("a core of sleep", "no core was written")


def main():
    t = Tap("core")
    with open("/proc/sys/kernel/core_pattern") as f:
        pattern = f.read().strip()
    if pattern.startswith("|") or "/" in pattern:
        t.skip("kernel cores", "core_pattern %r does not write into the "
               "process's directory" % pattern)
        return t.done()
    root = os.environ.get("NDSPY_TARGET_ROOT", "")
    zoo = Zoo(script="stacked.py", args=["abort"], dumps_core=True)
    try:
        zoo.proc.wait(timeout=30)
        core = kernel_core(zoo.dir, zoo.pid)
        if not t.ok(core, "the kernel wrote a core", os.listdir(zoo.dir)):
            return t.done()
        # a chroot's core names its files as the chroot saw them
        opts = ["--sysroot", root] if root else []
        if root:
            rc, so, se = ndspy("list", core)
            t.ok(rc == 3 and "--sysroot" in se and "cannot be opened" in se,
                 "without --sysroot the missing file is named", se)
        check_core(t, zoo, core, opts)
        # once, with the host's interpreter (its binary is the one --exe
        # replaces; a libpython build would not need it)
        if os.environ.get("PYTHON", "/usr/bin/python3") == "/usr/bin/python3":
            _, exe = moved_exe(t, core, zoo.dir)
            escapes(t, core, zoo.dir, exe)
            unchecked_file(t, core, zoo.dir, exe)
            bad_cores(t, core, zoo.dir)
    finally:
        zoo.stop()
        shutil.rmtree(zoo.dir, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
