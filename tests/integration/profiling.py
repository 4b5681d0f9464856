"""What the report and metrics suites share: profiled.py started as
their target (its own account of what it did is the ground truth), the
summary of a watch and plain HTTP GETs."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from tap import HERE, end_process

MIB = 1 << 20
BIG, SMALL = 30 * MIB, 5 * MIB
TARGET_ROOT = os.environ.get("NDSPY_TARGET_ROOT", "")
HOST_ROOTED = not TARGET_ROOT
NONE = "[no Python stack]"
SAMPLE_TYPES = [("inuse_space", "bytes"), ("inuse_objects", "count"),
                ("alloc_space", "bytes"), ("alloc_objects", "count")]
QUIET = ("--min-bytes", "1000000000")   # no event lines, the summary only


# ---- the target --------------------------------------------------------------

class Profiled:
    """profiled.py under $PYTHON (in its chroot, files placed inside it),
    started with --truth; with --go, waiting for go()."""

    def __init__(self, *args):
        python = os.environ.get("PYTHON", "/usr/bin/python3")
        self.dir = tempfile.mkdtemp(
            prefix="ndspy-reports-",
            dir=os.path.join(TARGET_ROOT, "tmp") if TARGET_ROOT else None)
        inside = self.dir[len(TARGET_ROOT):] if TARGET_ROOT else self.dir
        shutil.copy(os.path.join(HERE, "profiled.py"), self.dir)
        self.truth_path = os.path.join(self.dir, "truth.json")
        self.proc = subprocess.Popen(
            python.split() + [os.path.join(inside, "profiled.py"),
                              "--truth", os.path.join(inside, "truth.json")]
            + list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.pid = self.proc.pid
        if "--go" in args:
            line = self.proc.stdout.readline()
            if line.strip() != b"waiting":
                self.stop()
                raise RuntimeError("profiled.py did not start: %r" % line)
        self.truth = None

    def go(self):
        """Lets it allocate; its truth once it says ready."""
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError("profiled.py said %r, not ready" % line)
        return self.read_truth()

    def read_truth(self):
        with open(self.truth_path) as f:
            self.truth = json.load(f)
        return self.truth

    def send(self, line):
        self.proc.stdin.write(line)
        self.proc.stdin.flush()

    def stop(self):
        end_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def summary_of(out):
    """The JSON summary line of watch --json (or audit --json)."""
    for line in out.decode().splitlines():
        if line.startswith("{"):
            x = json.loads(line)
            if x.get("event") == "summary" or x.get("kind") == "summary":
                return x
    return None



def http_get(url, timeout=2.0):
    """(status, headers, body text, seconds) of a GET; status None with
    the error as body if it failed."""
    t0 = time.time()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode(), \
                time.time() - t0
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), "", time.time() - t0
    except (OSError, ValueError) as e:
        return None, {}, repr(e), time.time() - t0


