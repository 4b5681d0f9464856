"""`ndspy show` given addresses that are not arrays: 400 random ones
inside the zoo's writable mappings (aligned as objects are, and not),
the edges of those mappings, pointers into real arrays, and absurd ones
(0, 1, 2^47, 2^63, 2^64-8, 2^64-1). Every call exits 0 or 1 within its
timeout, never dies of a signal; each OBJECT comes out once, either as an
array whose fields agree with each other (and with NumPy, for the zoo's
own arrays) or as one error line naming it; and the zoo runs on,
untraced. Mostly 20 OBJECTs a call, in text and JSON, paused and with
--no-pause; some alone. NDSPY_ADDR_SEED=N replays other draws."""
import json
import os
import random
import re
import sys

from tap import Tap, Zoo, ndspy

PER_CALL = 20
RANDOM = 400
SINGLE = 24
ABSURD = [0, 1, 8, 2 ** 47 - 16, 2 ** 47, 2 ** 63, 2 ** 64 - 16,
          2 ** 64 - 8, 2 ** 64 - 1]
MODES = [[], ["--json", "--data", "3"], ["--no-pause"],
         ["--json", "--no-pause"]]


def writable(pid):
    """(start, end) of each private writable mapping of pid."""
    out = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            w = line.split()
            if w[1] == "rw-p":
                lo, hi = (int(x, 16) for x in w[0].split("-"))
                out.append((lo, hi))
    return out


def draws(rng, regions, arrays):
    """The addresses to ask for, with why each was chosen."""
    out = []
    for i in range(RANDOM):
        lo, hi = rng.choice(regions)
        addr = rng.randrange(lo, hi)
        # objects are 16-aligned (pymalloc) or 8 (others): most draws look
        # like one, so they get past the first check to the decoding
        align = (16, 16, 8, 1)[i % 4]
        out.append((max(lo, addr - addr % align), "random in %#x-%#x" %
                    (lo, hi)))
    for lo, hi in rng.sample(regions, min(12, len(regions))):
        out += [(a, "edge of %#x-%#x" % (lo, hi))
                for a in (lo, hi - 1, hi - 8, hi - 16, hi - 96)]
    for name, a in rng.sample(arrays, min(10, len(arrays))):
        out += [(a["address"] + d, "%s%+d" % (name, d))
                for d in (-16, 1, 8, 16, 32)]
        out.append((a["data"], "%s's data" % name))
    out += [(a, "absurd") for a in ABSURD]
    rng.shuffle(out)
    return out


def spell(rng, addr):
    return str(addr) if rng.random() < 0.5 else hex(addr)


def sane(rec, truth):
    """What is wrong with one array's JSON (empty: nothing)."""
    bad = []
    size = 1
    for n in rec["shape"]:
        size *= n
    if not (rec["ndim"] == len(rec["shape"]) == len(rec["strides"]) and
            rec["size"] == size and
            rec["nbytes"] == size * rec["dtype"]["itemsize"]):
        bad.append("fields disagree")
    t = truth.get(rec["address"])
    if t and any(rec[k] != t[k] for k in ("shape", "strides", "dtype")):
        bad.append("differs from NumPy's %s" % t["shape"])
    return bad


def garbled(line):
    """Whether an error line holds bytes no name has: invalid UTF-8 or
    control characters (a garbage "type name" printed as found)."""
    return "\ufffd" in line or any(ord(ch) < 0x20 or ord(ch) == 0x7f
                                   for ch in line)


def check_call(pid, mode, batch, truth, rng, unprintable):
    """Runs show on the batch; what went wrong (empty: nothing). Error
    lines that are not text go to unprintable."""
    specs = [spell(rng, a) for a, _ in batch]
    try:
        rc, so, se = ndspy("show", *mode, pid, *specs, timeout=30)
    except Exception as ex:  # subprocess.TimeoutExpired
        return ["hung: %s" % ex]
    if rc not in (0, 1):
        return ["exit %d (%s): %s" % (rc, "signal" if rc < 0 else "status",
                                      se[-400:])]
    bad = []
    # JSON Lines end at "\n"; splitlines() would also break at the U+2028
    # a string value may hold
    errs = se.split("\n")[:-1]
    unprintable += [x for x in errs if garbled(x)]
    if "--json" in mode:
        recs = [json.loads(x) for x in so.split("\n")[:-1]]
        shown = [r["address"] for r in recs]
        for r in recs:
            bad += ["%#x: %s" % (r["address"], b) for b in sane(r, truth)]
    else:
        shown = [int(x, 16) for x in
                 re.findall(r"^  object +0x([0-9a-f]+) ", so, re.M)]
    # an array is shown at its own address; an error line names the
    # OBJECT as given or as hex
    left = list(errs)
    for (addr, why), spec in zip(batch, specs):
        if addr in shown:
            shown.remove(addr)
            continue
        hit = next((x for x in left if x.startswith("ndspy: ") and
                    (spec + ":" in x or "%#x:" % addr in x)), None)
        if hit is None:
            bad.append("%s (%s): neither shown nor named" % (spec, why))
        else:
            left.remove(hit)
    if shown or left:
        bad.append("unasked output: %s %s" % (shown, left))
    if rc != (1 if errs else 0):
        bad.append("exit %d with %d error lines" % (rc, len(errs)))
    return bad


def main():
    t = Tap("addresses")
    seed = int(os.environ.get("NDSPY_ADDR_SEED", "20250"))
    rng = random.Random(seed)
    zoo = Zoo()
    try:
        regions = writable(zoo.pid)
        objs = zoo.truth["objects"]
        truth = {v["address"]: v for v in objs.values()}
        asked = draws(rng, regions, sorted(objs.items()))
        unprintable = []
        single, batched = asked[:SINGLE], asked[SINGLE:]
        for i, mode in enumerate(MODES):
            part = batched[i::len(MODES)]
            bad = []
            for k in range(0, len(part), PER_CALL):
                bad += check_call(zoo.pid, mode, part[k:k + PER_CALL],
                                  truth, rng, unprintable)
            t.ok(not bad, "show %s of %d addresses, %d a call (seed %d): "
                 "exit 0 or 1, each shown sanely or named in an error" %
                 (" ".join(mode) or "(text, paused)", len(part), PER_CALL,
                  seed), "\n".join(bad))
        # alone, and the zoo's own arrays, whose exit must be 0
        bad = []
        some = rng.sample(sorted(truth), 8)
        for j, (addr, why) in enumerate(single + [(a, "array") for a in some]):
            bad += ["%#x (%s): %s" % (addr, why, b) for b in
                    check_call(zoo.pid, MODES[j % len(MODES)], [(addr, why)],
                               truth, rng, unprintable)]
        rc, so, _ = ndspy("show", "--json", zoo.pid, *some)
        t.ok(not bad and rc == 0 and so.count("\n") == len(some),
             "show of %d addresses one at a time, and of the zoo's arrays "
             "(seed %d): the same, and the arrays all shown, exit 0" %
             (len(single) + len(some), seed), "\n".join(bad) or so[-400:])
        t.ok(not unprintable, "every error line is text: no garbage taken "
             "for a type's name", "\n".join(ascii(x) for x in unprintable))
        t.ok(zoo.running_untraced(), "the zoo runs untraced afterwards",
             zoo.state())
    finally:
        zoo.stop()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
