"""`ndspy snapshot`: a small core of what ndspy reads. Taken of the zoo,
then the zoo is killed: list, show (JSON, text, by name, --save) and a
snapshot of the snapshot answer from the file exactly as they did on the
live process; what was not captured is refused as such; the file is at
most a fifth of the zoo's memory and gdb opens it. Taken of stacked.py:
stacks from the file equal traceback's and the live native frames."""
import json
import os
import re
import signal
import struct
import subprocess
import sys

import numpy as np

from tap import Tap, Zoo, ndspy

NVALUES = 12
DATA_MAX = 1 << 20


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def loads(path):
    """PT_LOAD (vaddr, size) of an ELF core, PN_XNUM included."""
    with open(path, "rb") as f:
        data = f.read()
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phnum, = struct.unpack_from("<H", data, 0x38)
    if phnum == 0xffff:
        shoff, = struct.unpack_from("<Q", data, 0x28)
        phnum, = struct.unpack_from("<I", data, shoff + 0x2c)
    out = []
    for i in range(phnum):
        typ, _, _, vaddr, _, filesz, _, _ = struct.unpack_from(
            "<IIQQQQQQ", data, phoff + 56 * i)
        if typ == 1:
            out.append((vaddr, filesz))
    return out


def uncaptured(pid, snap):
    """An address of the zoo's heap that the snapshot holds no page of."""
    segs = loads(snap)
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split()
            if parts[-1] != "[heap]":
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            for a in range(hi - 4096, lo, -4096):
                if not any(v <= a < v + n for v, n in segs):
                    return a
    return None


def kill(zoo):
    zoo.proc.send_signal(signal.SIGKILL)
    zoo.proc.wait()


def arrays_of(t, zoo):
    """What ndspy says of the live zoo: list, and show of each array by
    address (JSON with values, text) and by name."""
    objs = zoo.truth["objects"]
    out = {"list": ndspy("list", "--json", zoo.pid)[1]}
    for name, truth in objs.items():
        addr = truth["address"]
        out["json " + name] = ndspy("show", "--json", "--data", NVALUES,
                                    zoo.pid, addr)[1]
        out["text " + name] = ndspy("show", zoo.pid, addr)[1]
        out["name " + name] = ndspy("show", "--json", zoo.pid,
                                    "__main__." + name)[1]
    return out


def check_zoo(t):
    zoo = Zoo()
    snap = os.path.join(zoo.dir, "zoo.snap")
    try:
        live = arrays_of(t, zoo)
        t.ok(all(live.values()), "the live zoo answers every question",
             [k for k, v in live.items() if not v][:5])
        size = rss(zoo.pid)
        rc, so, se = ndspy("snapshot", zoo.pid, "-o", snap, timeout=120)
        t.ok(rc == 0 and os.path.exists(snap) and
             bool(re.search(r": \d+ arrays?, \d+ names?, \d+ threads?",
                            so)),
             "snapshot writes the file and says what it holds",
             "exit %d: %s %s" % (rc, so, se))
        if rc:
            return
        got = os.path.getsize(snap)
        t.ok(got <= size / 5, "the file is at most a fifth of the zoo's "
             "RSS (%d of %d KiB)" % (got >> 10, size >> 10))
        exe = os.readlink("/proc/%d/exe" % zoo.pid)
        p = subprocess.run(["gdb", "-batch", "-nx", "-ex", "info threads",
                            exe, snap], capture_output=True, text=True,
                           timeout=120)
        t.ok(p.returncode == 0 and "LWP %d" % zoo.pid in p.stdout and
             "not in executable format" not in p.stderr,
             "gdb opens it and finds the zoo's thread",
             p.stdout[-600:] + p.stderr[-600:])
        hole = uncaptured(zoo.pid, snap)
        kill(zoo)
        t.ok(not os.path.exists("/proc/%d" % zoo.pid), "the zoo is gone")
        dead = {"list": ndspy("list", "--json", snap)[1]}
        for name, truth in zoo.truth["objects"].items():
            addr = truth["address"]
            dead["json " + name] = ndspy("show", "--json", "--data", NVALUES,
                                         snap, addr)[1]
            dead["text " + name] = ndspy("show", snap, addr)[1]
            dead["name " + name] = ndspy("show", "--json", snap,
                                         "__main__." + name)[1]
        for kind in ("list", "json", "text", "name"):
            bad = [k for k in live if k.split()[0] == kind and
                   live[k] != dead[k]]
            t.ok(not bad, "%s from the file equals the live answer "
                 "(%d of them)" % (kind, sum(1 for k in live
                                             if k.split()[0] == kind)),
                 "\n".join("%s:\n live %s\n file %s" % (
                     k, live[k][:300], dead[k][:300]) for k in bad[:3]))
        check_saves(t, zoo, snap)
        if hole:
            rc, so, se = ndspy("show", snap, hole)
            t.ok(rc == 1 and "not captured while paused" in se,
                 "memory it did not capture is refused as such",
                 "exit %d: %s" % (rc, se))
        again = os.path.join(zoo.dir, "again.snap")
        rc, so, se = ndspy("snapshot", snap, "-o", again)
        t.ok(rc == 0 and ndspy("list", "--json", again)[1] == live["list"],
             "a snapshot of the snapshot lists the same arrays",
             "exit %d: %s" % (rc, se))
    finally:
        zoo.stop()


def check_saves(t, zoo, snap):
    """--save from the file: np.save's bytes where the data was kept, a
    refusal where it was not."""
    bad = []
    for name, truth in zoo.truth["objects"].items():
        if not truth["saved"]:
            continue
        out = os.path.join(zoo.dir, "snap-" + name + ".npy")
        rc, so, se = ndspy("show", snap, truth["address"], "--data", "0",
                           "--save", out)
        extent = truth["nbytes"]
        if extent and truth["shape"]:
            lo = hi = 0
            for n, s in zip(truth["shape"], truth["strides"]):
                lo, hi = (lo + (n - 1) * s, hi) if s < 0 else \
                    (lo, hi + (n - 1) * s)
            extent = hi - lo + truth["dtype"]["itemsize"]
        # past --data-max only what its repr and first values needed was
        # kept: saved whole if that was all of it, else refused
        ok = rc == 0 and np.load(out, max_header_size=1 << 20).tobytes() \
            == np.load(os.path.join(zoo.dir, name + ".npy"),
                       max_header_size=1 << 20).tobytes() or \
            extent > DATA_MAX and rc == 1 and "not captured while paused" in se
        if not ok:
            bad.append("%s (%d bytes): exit %d %s" % (name, extent, rc, se))
    t.ok(not bad, "--save from the file equals np.save where the data was "
         "kept, and is refused where not", "\n".join(bad[:5]))


def check_stacks(t):
    zoo = Zoo(script="stacked.py", args=["sleep"])
    snap = os.path.join(zoo.dir, "stacked.snap")
    try:
        rc, live, se = ndspy("stacks", "--json", zoo.pid)
        rc2, so, se2 = ndspy("snapshot", zoo.pid, "-o", snap)
        t.ok(rc == 0 and rc2 == 0, "stacks and snapshot of stacked.py",
             se + se2)
        kill(zoo)
        rc, dead, se = ndspy("stacks", "--json", snap)
        ts = {x["tid"]: x for x in map(json.loads, dead.splitlines())} \
            if rc == 0 else {}
        for who in ("main", "worker"):
            th = ts.get(zoo.truth[who + "_tid"], {"frames": []})
            got = [[f["file"], f["function"], f["line"]]
                   for f in th["frames"] if f["kind"] == "python"]
            t.ok(got == zoo.truth[who], "stacks from the file: the %s "
                 "thread's Python frames equal traceback's" % who,
                 "ours %s\ntraceback %s\n%s" % (got, zoo.truth[who], se))
        t.ok(rc == 0 and dead == live, "stacks from the file equal the "
             "live stacks, native frames too",
             "live:\n%s\nfile:\n%s" % (live[:1500], dead[:1500]))
    finally:
        zoo.stop()


def main():
    t = Tap("snapshot")
    check_zoo(t)
    check_stacks(t)
    rc, so, se = ndspy("snapshot", "1")
    t.ok(rc == 2 and "-o FILE" in se, "-o is required (usage, exit 2)", se)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
