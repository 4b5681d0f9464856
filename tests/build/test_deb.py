"""`make deb`: the package holds the binary, the man page and the bash
completion, its Depends name what the binary links; `dpkg -i` in a scratch
Debian bookworm chroot (a bare system with those libraries, built once by
tests/matrix/chroot.sh and cached; each run installs into an overlay of
it) installs it, and `ndspy --version` runs there. Run once, not per
Python."""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from tap import Tap  # noqa: E402


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True,
                          timeout=kw.pop("timeout", 600), **kw)


def version():
    with open(os.path.join(ROOT, "Makefile")) as f:
        for line in f:
            if line.startswith("VERSION"):
                return line.split(":=")[1].strip()
    return None


def main():
    t = Tap("deb")
    ver = version()
    deb = os.path.join(ROOT, "build", "ndspy_%s_amd64.deb" % ver)
    r = run("make", "-C", ROOT, "--no-print-directory", "deb")
    if not t.ok(r.returncode == 0 and os.path.isfile(deb),
                "make deb builds %s" % os.path.basename(deb),
                r.stdout[-800:] + r.stderr[-800:]):
        return t.done()
    files = run("dpkg-deb", "-c", deb).stdout
    t.ok(all(p in files for p in ("./usr/bin/ndspy",
                                  "./usr/share/man/man1/ndspy.1.gz",
                                  "./usr/share/bash-completion/completions/"
                                  "ndspy")),
         "it holds the binary, the man page and the completion", files)
    depends = run("dpkg-deb", "-f", deb, "Depends").stdout.strip()
    names = [d.strip().split()[0] for d in depends.split(",") if d.strip()]
    # the package of every library the binary needs directly
    needed = [line.split()[-1] for line in
              run("objdump", "-p", os.path.join(ROOT, "build", "ndspy"))
              .stdout.splitlines() if line.strip().startswith("NEEDED")]
    where = dict(line.split()[:3:2] for line in
                 run("ldd", os.path.join(ROOT, "build", "ndspy"))
                 .stdout.splitlines() if " => /" in line)
    owners = set()
    for lib in needed:
        path = where.get(lib, lib)
        # merged /usr: dpkg knows a library under one of its two names
        found = run("dpkg", "-S", path).stdout or \
            run("dpkg", "-S", "/usr" + path).stdout
        owners.add(found.split(":")[0])
    t.ok(needed and owners <= set(names),
         "Depends names the package of every library it links (%d)"
         % len(needed), (sorted(owners - set(names)), depends))
    r = subprocess.run(["bash", os.path.join(ROOT, "tests", "matrix",
                                             "chroot.sh"), "bookworm"],
                       capture_output=True, text=True, timeout=1800,
                       env=dict(os.environ,
                                NDSPY_CHROOT_PKGS=",".join(names)))
    base = r.stdout.strip()
    if not t.ok(r.returncode == 0 and os.path.isdir(base),
                "a bare bookworm chroot with the Depends", r.stderr[-800:]):
        return t.done()
    work = tempfile.mkdtemp(prefix="ndspy-deb-")
    merged = os.path.join(work, "root")
    for d in ("upper", "work", "root"):
        os.makedirs(os.path.join(work, d))
    mounted = run("mount", "-t", "overlay", "overlay", "-o",
                  "lowerdir=%s,upperdir=%s/upper,workdir=%s/work"
                  % (base, work, work), merged).returncode == 0
    try:
        if not mounted:   # no overlayfs here: a copy
            os.rmdir(merged)
            shutil.copytree(base, merged, symlinks=True)
        shutil.copy(deb, os.path.join(merged, "tmp", "ndspy.deb"))
        r = run("chroot", merged, "dpkg", "-i", "/tmp/ndspy.deb")
        t.ok(r.returncode == 0, "dpkg -i installs it there",
             r.stdout[-800:] + r.stderr[-800:])
        r = run("chroot", merged, "ndspy", "--version")
        t.ok(r.returncode == 0 and r.stdout.strip() == "ndspy " + ver,
             "ndspy --version runs there: %s" % r.stdout.strip(),
             (r.returncode, r.stdout, r.stderr))
        r = run("chroot", merged, "dpkg", "-L", "ndspy")
        t.ok("/usr/share/man/man1/ndspy.1.gz" in r.stdout and
             "/usr/share/bash-completion/completions/ndspy" in r.stdout,
             "dpkg knows its man page and completion", r.stdout)
    finally:
        if mounted:
            run("umount", merged)
        shutil.rmtree(work, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
