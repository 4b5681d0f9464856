"""`make -j4` on a machine missing some of the Debian packages: the
packages are installed first, and nothing is compiled before they are.
The packaging tools are stand-ins on PATH (dpkg-query says one package is
missing until apt-get, which takes a few seconds, "installs" it), and
every compiler, archiver and bpftool call is logged with its time; the
build goes to a directory of its own."""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from tap import Tap  # noqa: E402

MISSING = "libcmocka-dev"
TOOLS = ("cc", "gcc", "clang", "ar", "bpftool")

DPKG_QUERY = """#!/bin/sh
for p; do :; done
if [ "$p" = %(missing)s ] && [ ! -e %(dir)s/installed ]; then
	echo "unknown ok not-installed"
else
	echo "install ok installed"
fi
"""
APT_GET = """#!/bin/sh
echo "apt-get start $(date +%%s.%%N) $*" >> %(dir)s/log
case "$*" in *install*) sleep 3; touch %(dir)s/installed ;; esac
echo "apt-get end $(date +%%s.%%N)" >> %(dir)s/log
"""
TOOL = """#!/bin/sh
echo "%(tool)s start $(date +%%s.%%N)" >> %(dir)s/log
exec %(real)s "$@"
"""


def stand_ins(d):
    bindir = os.path.join(d, "bin")
    os.makedirs(bindir)
    scripts = {"dpkg-query": DPKG_QUERY, "apt-get": APT_GET}
    for tool in TOOLS:
        real = shutil.which(tool)
        if real:
            scripts[tool] = TOOL % {"tool": tool, "real": real, "dir": d}
    for name, text in scripts.items():
        path = os.path.join(bindir, name)
        with open(path, "w") as f:
            f.write(text % {"missing": MISSING, "dir": d}
                    if name in ("dpkg-query", "apt-get") else text)
        os.chmod(path, 0o755)
    return bindir


def events(d):
    try:
        with open(os.path.join(d, "log")) as f:
            return [line.split() for line in f]
    except OSError:
        return []


def main():
    t = Tap("make")
    d = tempfile.mkdtemp(prefix="ndspy-make-")
    try:
        env = dict(os.environ, PATH=stand_ins(d) + ":" + os.environ["PATH"])
        build = os.path.join(d, "build")
        p = subprocess.run(["make", "-j4", "-C", ROOT, "B=" + build, "all"],
                           env=env, capture_output=True, text=True,
                           timeout=900)
        t.ok(p.returncode == 0, "make -j4 all exits 0",
             p.stdout[-600:] + p.stderr[-1500:])
        ev = events(d)
        apt = [e for e in ev if e[0] == "apt-get"]
        installs = [e for e in apt if e[1] == "start" and "install" in e[3:]]
        end = [float(e[2]) for e in apt if e[1] == "end"]
        tools = [(e[0], float(e[2])) for e in ev if e[0] in TOOLS]
        t.ok(len(installs) == 1 and MISSING in installs[0],
             "the missing package is installed, once", apt)
        early = [x for x in tools if not end or x[1] < max(end)]
        t.ok(tools and not early, "nothing is compiled before apt-get is "
             "done (%d tool calls after it)" % len(tools), early[:5])
        rc = subprocess.run([os.path.join(build, "ndspy"), "--version"],
                            capture_output=True).returncode
        t.ok(rc == 0, "the binary it built runs")
        # everything installed now: make does not reach for apt-get again
        os.remove(os.path.join(d, "log"))
        p = subprocess.run(["make", "-j4", "-C", ROOT, "B=" + build, "all"],
                           env=env, capture_output=True, text=True,
                           timeout=300)
        t.ok(p.returncode == 0 and not [e for e in events(d)
                                        if e[0] == "apt-get"],
             "a second make with everything installed leaves apt alone",
             p.stderr[-600:])
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
