"""@SYMBOL: arrays kept by a C extension in an exported global, in a
static one (.symtab), in a static one whose symbols live only in a
separate debug file (.gnu_debuglink), and in one whose file was deleted
after it was loaded."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from tap import Tap, build_extension, ndspy

TARGET = """
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np, ndspy_ext, ndspy_stripped, ndspy_gone
a = np.arange(5, dtype=np.int16)
b = np.ones((2, 3))
c = np.zeros(4, dtype=np.uint8)
d = np.full(3, 7.0)
ndspy_ext.keep(a, b)
ndspy_stripped.keep(c, c)
ndspy_gone.keep(d, d)
print(id(a), id(b), id(c), id(d), flush=True)
sys.stdin.read()
"""


def build(python, root, out_dir, name, strip):
    """The extension built against the target Python's own headers."""
    so = build_extension(python, root, out_dir, "ndspy_ext.c", name,
                         ["-DMODNAME=\"%s\"" % name, "-DMODSYM=" + name])
    if strip:
        debug = so + ".debug"
        subprocess.run(["objcopy", "--only-keep-debug", so, debug], check=True)
        subprocess.run(["strip", "--strip-all", so], check=True)
        subprocess.run(["objcopy", "--add-gnu-debuglink=" + debug, so],
                       check=True)
    return so


def main():
    t = Tap("symbols")
    python = os.environ.get("PYTHON", "/usr/bin/python3")
    root = os.environ.get("NDSPY_TARGET_ROOT", "")
    d = tempfile.mkdtemp(prefix="ndspy-sym-",
                         dir=os.path.join(root, "tmp") if root else None)
    try:
        ext = build(python, root, d, "ndspy_ext", False)
        stripped = build(python, root, d, "ndspy_stripped", True)
        gone = build(python, root, d, "ndspy_gone", False)
        p = subprocess.Popen(python.split() + ["-c", TARGET, d[len(root):]],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        a, b, c, dd = (int(x) for x in p.stdout.readline().split())
        # an extension deleted after it was loaded (an upgrade underneath)
        os.unlink(gone)
        # the extension's path as /proc/PID/maps shows it to us
        with open("/proc/%d/maps" % p.pid) as f:
            mapped = [ln.split()[-1] for ln in f
                      if ln.rstrip().endswith(os.path.basename(ext))]
        try:
            for spec, want in (("@ndspy_ext_exported", a),
                               ("@ndspy_ext:ndspy_hidden", b),
                               ("@%s:ndspy_hidden" % mapped[0], b),
                               ("@ndspy_stripped:ndspy_hidden", c),
                               ("@ndspy_gone:ndspy_hidden", dd)):
                rc, so, se = ndspy("show", "--json", p.pid, spec)
                t.ok(rc == 0 and json.loads(so)["address"] == want,
                     "show %s finds the array its global points to" % spec,
                     "exit %d: %s" % (rc, se))
            # without its debug file the static symbol is not there
            os.unlink(stripped + ".debug")
            rc, so, se = ndspy("show", p.pid, "@ndspy_stripped:ndspy_hidden")
            t.ok(rc == 1 and "no such symbol" in se,
                 "without the debug file the static symbol is not found", se)
            rc, so, se = ndspy("show", p.pid, "@no_such_object:x")
            t.ok(rc == 1 and "no mapped object named" in se,
                 "an OBJFILE that is not mapped is named in the error", se)
        finally:
            p.stdin.close()
            p.wait()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
