"""`make static`: build/ndspy-static is one statically linked binary, and
it runs inside the bullseye chroot (glibc 2.31, none of ndspy's libraries
installed; /proc and /sys bound in a mount namespace of its own) against
that chroot's Python 3.9 and NumPy 1.19: show gives the array's shape and
address, list finds it, stacks shows the script's frame, watch -- COMMAND
sees a buffer with its Python line, audit reports, and --metrics answers.
Run once, not per Python."""
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from tap import Tap, free_port  # noqa: E402

TARGET = """import json, sys
import numpy as np
a = np.arange(12.0).reshape(3, 4)
print(json.dumps({"id": id(a), "shape": list(a.shape)}), flush=True)
sys.stdin.readline()
"""
COMMAND = """import time
import numpy as np
def make():
    return np.zeros(100000)
x = make()
time.sleep(0.2)
"""


def inside(root, binary, *args, timeout=60):
    """binary ARGS run chrooted in root, /proc and /sys bound there in a
    mount namespace of its own (the host's mounts untouched)."""
    script = ('mount --bind /proc "$0/proc" && mount --rbind /sys "$0/sys" '
              '&& exec chroot "$0" "$@"')
    return subprocess.run(["unshare", "-m", "sh", "-c", script, root,
                           binary] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=timeout)


def main():
    t = Tap("static")
    r = subprocess.run(["make", "-C", ROOT, "--no-print-directory",
                        "static"], capture_output=True, text=True,
                       timeout=600)
    binary = os.path.join(ROOT, "build", "ndspy-static")
    if not t.ok(r.returncode == 0 and os.path.isfile(binary),
                "make static builds build/ndspy-static", r.stderr[-800:]):
        return t.done()
    f = subprocess.run(["file", binary], capture_output=True, text=True)
    t.ok("statically linked" in f.stdout, "file says statically linked",
         f.stdout)
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True)
    t.ok("not a dynamic executable" in ldd.stdout + ldd.stderr,
         "ldd finds nothing to load", ldd.stdout + ldd.stderr)
    r = subprocess.run(["bash", os.path.join(ROOT, "tests", "matrix",
                                             "chroot.sh"), "bullseye"],
                       capture_output=True, text=True, timeout=1800)
    root = r.stdout.strip()
    if not t.ok(r.returncode == 0 and os.path.isdir(root),
                "the bullseye chroot", r.stderr[-800:]):
        return t.done()
    name = "/tmp/ndspy-static-%d" % os.getpid()
    shutil.copy(binary, root + name)
    with open(root + name + ".py", "w") as fh:
        fh.write(TARGET)
    with open(root + name + "-cmd.py", "w") as fh:
        fh.write(COMMAND)
    p = subprocess.Popen(["chroot", root, "/usr/bin/python3", name + ".py"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        truth = json.loads(p.stdout.readline())
        r = inside(root, name, "--version")
        libs = subprocess.run(["chroot", root, "sh", "-c",
                               "ls /usr/lib/x86_64-linux-gnu/libbpf* "
                               "/usr/lib/x86_64-linux-gnu/libcapstone* "
                               "2>/dev/null; ldd --version | head -1"],
                              capture_output=True, text=True).stdout
        t.ok(r.returncode == 0 and r.stdout.startswith("ndspy ") and
             "libbpf" not in libs and "2.31" in libs,
             "it runs in the chroot (glibc 2.31, no libbpf, no capstone)",
             (r.stdout, r.stderr, libs))
        r = inside(root, name, "show", "--json", p.pid, "__main__.a")
        got = json.loads(r.stdout) if r.returncode == 0 else {}
        t.ok(got.get("shape") == truth["shape"] and
             got.get("address") == truth["id"],
             "show: the array's shape and address, as NumPy has them",
             (r.returncode, r.stderr, got.get("shape")))
        r = inside(root, name, "list", "--json", p.pid)
        ids = [json.loads(x)["address"] for x in r.stdout.splitlines()
               if x.startswith("{")]
        t.ok(r.returncode == 0 and truth["id"] in ids,
             "list finds it among %d arrays" % len(ids), r.stderr[-400:])
        r = inside(root, name, "stacks", p.pid)
        t.ok(r.returncode == 0 and "<module> at %s.py:5" % name in r.stdout,
             "stacks: the script's frame", r.stdout[-800:] + r.stderr)
        r = inside(root, name, "watch", "--json", "--min-bytes", 800000,
                   "--", "/usr/bin/python3", name + "-cmd.py")
        allocs = [json.loads(x) for x in r.stdout.splitlines()
                  if x.startswith('{"event": "alloc"')]
        st = allocs[0].get("stack", []) if len(allocs) == 1 else []
        t.ok(r.returncode == 0 and len(allocs) == 1 and
             allocs[0]["size"] == 800000 and st and
             st[0]["function"] == "make" and st[0]["line"] == 4,
             "watch -- COMMAND: its 800,000-byte buffer, made at line 4 "
             "in make", (r.returncode, allocs, r.stderr[-400:]))
        r = inside(root, name, "audit", "--json", "--duration", 1, p.pid)
        kinds = [json.loads(x).get("kind") for x in r.stdout.splitlines()
                 if x.startswith("{")]
        t.ok(r.returncode == 0 and "summary" in kinds,
             "audit: a window and its summary", r.stderr[-400:])
        port = free_port()
        w = subprocess.Popen(
            ["unshare", "-m", "sh", "-c", 'mount --bind /proc "$0/proc" && '
             'mount --rbind /sys "$0/sys" && exec chroot "$0" "$@"', root,
             name, "watch", "--duration", "10", "--min-bytes", "1000000000",
             "--metrics", "127.0.0.1:%d" % port, str(p.pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        page, end = "", time.time() + 10
        while time.time() < end and "ndspy_numpy_live_bytes{" not in page:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics"
                                            % port, timeout=2) as u:
                    page = u.read().decode()
            except OSError:
                time.sleep(0.1)
        w.terminate()
        w.wait(timeout=20)
        t.ok("ndspy_numpy_live_bytes{pid=\"%d\"}" % p.pid in page and
             w.returncode == 0,
             "--metrics serves /metrics (HTTP without TLS)",
             (w.returncode, page[:300], w.stderr.read()[-300:]))
    finally:
        p.stdin.close()
        p.wait(timeout=10)
        for f in (name, name + ".py", name + "-cmd.py"):
            try:
                os.unlink(root + f)
            except OSError:
                pass
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
