"""`ndspy list` against the zoo: every array of the zoo is found, with the
same JSON as `show`; nothing twice; every line is a real array. Arrays are
looked for in pymalloc's pools where the zoo allocates with pymalloc, and
in all its writable memory under PYTHONMALLOC=malloc: both find them all."""
import json
import os
import re
import sys

from tap import Tap, Zoo, ndspy

TABLE = "pymalloc pools in"
EVERYWHERE = "all writable memory"


def scanned(t, zoo, label):
    """list -v of the zoo: every zoo array listed, once, and the way -v
    says memory was scanned, as the zoo's own allocator implies."""
    rc, so, se = ndspy("list", "-v", "--json", zoo.target)
    listed = [json.loads(x)["address"] for x in so.splitlines()]
    missing = [n for n, v in zoo.truth["objects"].items()
               if v["address"] not in listed]
    t.ok(rc == 0 and not missing and len(set(listed)) == len(listed),
         "%s: every zoo array is listed, once" % label, (rc, missing, se))
    want = TABLE if zoo.truth["pymalloc"] else EVERYWHERE
    t.ok(want in se, "%s: -v says it scanned %s" % (
        label, "the blocks of pymalloc's pools (found through the arena "
        "table)" if zoo.truth["pymalloc"] else "all writable memory"), se)
    if zoo.truth["pymalloc"]:
        # ndspy counts a type large a little before pymalloc must refuse
        # it (headers before the object): at least the zoo's count
        n = zoo.truth["large_types"]
        m = re.search(r"for (\d+) types? too large for pymalloc", se)
        t.ok(n >= 1 and m and int(m.group(1)) >= n, "%s: and all writable "
             "memory for the types whose objects are larger than "
             "pymalloc's blocks (%d, the zoo's Wide among them)" % (label, n),
             se)


def main():
    t = Tap("list")
    zoo = Zoo()
    try:
        objs = zoo.truth["objects"]
        rc, so, se = ndspy("list", "--json", zoo.target)
        lines = [json.loads(x) for x in so.splitlines()]
        listed = {x["address"]: x for x in lines}
        t.ok(rc == 0 and len(lines) >= len(objs), "list --json exits 0 "
             "with at least the zoo's %d arrays" % len(objs),
             "exit %d, %d lines: %s" % (rc, len(lines), se))
        t.ok(len(listed) == len(lines), "no array is listed twice",
             len(lines) - len(listed))
        missing = [n for n, v in objs.items() if v["address"] not in listed]
        t.ok(not missing, "every zoo array is listed", missing)
        for name, truth in objs.items():
            if truth["address"] not in listed:
                continue
            rc, so, se = ndspy("show", "--json", zoo.target, truth["address"])
            t.ok(rc == 0 and json.loads(so) == listed[truth["address"]],
                 "%s: list's entry equals show's" % name, se)
        # every line is an array show can decode: no stale headers
        bad = []
        for addr in listed:
            rc, so, se = ndspy("show", "--json", "--no-pause", zoo.target, addr)
            if rc != 0:
                bad.append((hex(addr), se))
        t.ok(not bad, "every listed address decodes as an array", bad[:5])
        big = max(v["nbytes"] for v in objs.values())
        rc, so, se = ndspy("list", "--json", "--min-bytes", big, zoo.target)
        sizes = [json.loads(x)["nbytes"] for x in so.splitlines()]
        t.ok(rc == 0 and sizes and all(s >= big for s in sizes) and
             len(sizes) == sum(1 for x in lines if x["nbytes"] >= big),
             "--min-bytes keeps exactly the arrays that large", sizes)
        rc, so, se = ndspy("list", zoo.target)
        rows = so.splitlines()
        t.ok(rc == 0 and rows[0].startswith("address") and
             "arrays;" in rows[-1] and "distinct buffers" in rows[-1] and
             len(rows) == len(lines) + 2,
             "text: a header, a row per array, a summary", so[-400:])
        types = {x["type"] for x in lines}
        t.ok({"matrix", "memmap", "recarray", "Sub", "Wide"} <= types,
             "subclasses are found (matrix, memmap, recarray, Python ones, "
             "one too large for pymalloc)", types)
        t.ok(zoo.running_untraced(), "the zoo runs untraced afterwards",
             zoo.state())
        t.ok(zoo.truth["pymalloc"], "the zoo allocates with pymalloc",
             zoo.truth)
        scanned(t, zoo, "default allocator")
    finally:
        zoo.stop()
    python = os.environ.get("PYTHON", "/usr/bin/python3")
    zoo = Zoo(python="env PYTHONMALLOC=malloc " + python)
    try:
        t.ok(not zoo.truth["pymalloc"], "PYTHONMALLOC=malloc: the zoo "
             "allocates no object with pymalloc", zoo.truth["pymalloc"])
        scanned(t, zoo, "PYTHONMALLOC=malloc")
    finally:
        zoo.stop()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
