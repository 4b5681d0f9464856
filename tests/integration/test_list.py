"""`ndspy list` against the zoo: every array of the zoo is found, with the
same JSON as `show`; nothing twice; every line is a real array. Arrays are
looked for in pymalloc's pools where the zoo allocates with pymalloc, and
in all its writable memory under PYTHONMALLOC=malloc: both find them all.
`list --dot` draws the ownership graph: Graphviz renders it, a view's edge
to its base joins the nodes named by their id(), and the path in the
base's node gives the base back in the zoo."""
import json
import os
import re
import subprocess
import sys

from tap import Tap, Zoo, ndspy
from test_why import evaluate

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


NODE = re.compile(r'^\t"(0x[0-9a-f]+)" \[label="((?:[^"\\]|\\.)*)"', re.M)
EDGE = re.compile(r'^\t"(0x[0-9a-f]+)" -> "(0x[0-9a-f]+)" \[label="(\w+)"\];$',
                  re.M)


def summary_says(row, n):
    """list's summary line counts n arrays, its nouns singular for 1."""
    m = re.match(r"(\d+) (arrays?); .*; (\d+) distinct (buffers?)$", row)
    return bool(m) and int(m[1]) == n and \
        (m[2] == "array") == (m[1] == "1") and \
        (m[4] == "buffer") == (m[3] == "1")


def label_lines(quoted):
    """A DOT label's lines: each ends with \\l; \\" and \\\\ stand for
    themselves."""
    text = re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "l"
                  else m.group(1), quoted)
    return text.split("\n")[:-1]


def dot_graph(t, zoo):
    """list --dot: rendered by dot; the zoo's view x4[:-1] -> x4 edge
    between nodes named by their id(); x4's node with its dtype, shape,
    nbytes and a path that gives x4 back in the zoo."""
    view = zoo.truth["objects"]["nb_view_minus1"]
    base = zoo.truth["objects"]["nb_int64"]
    rc, so, se = ndspy("list", "--dot", zoo.target)
    t.ok(rc == 0 and so.startswith("digraph ndspy {") and
         so.endswith("}\n"), "--dot exits 0 with a digraph", (rc, se))
    p = subprocess.run(["dot", "-Tsvg"], input=so.encode(),
                       capture_output=True, timeout=120)
    t.ok(p.returncode == 0 and b"<svg" in p.stdout, "dot -Tsvg renders it",
         p.stderr.decode(errors="replace"))
    nodes = {m.group(1): label_lines(m.group(2)) for m in NODE.finditer(so)}
    edges = set(EDGE.findall(so))
    want = (hex(view["address"]), hex(base["address"]), "base")
    t.ok(view["base"][0]["address"] == base["address"] and want in edges and
         want[0] in nodes and want[1] in nodes,
         "the edge view -> base of nb_view_minus1 -> nb_int64, both nodes "
         "named by id() in hex", (want, sorted(edges)[:10]))
    lines = nodes.get(want[1], [""])
    shape = str(tuple(base["shape"]))
    t.ok(lines[:4] == [want[1], base["type"],
                       "%s %s" % (base["dtype"]["str"], shape),
                       "nbytes %d" % base["nbytes"]],
         "the base's label: address, type, dtype and shape, nbytes", lines)
    t.ok(lines[-1].startswith("__main__.") and
         evaluate(zoo, lines[-1]) == str(base["address"]),
         "the base's label ends with its path (%s), which gives it back in "
         "the zoo" % lines[-1], lines)
    # --min-bytes picks lone arrays only: a small view is what it is for
    big = max(base["nbytes"], view["nbytes"]) + 1
    rc, so, se = ndspy("list", "--dot", "--min-bytes", big, zoo.target)
    t.ok(rc == 0 and want in set(EDGE.findall(so)),
         "--dot --min-bytes %d above both: the view -> base edge stays" % big,
         (rc, se, so[:600]))
    rc, so, se = ndspy("list", "--dot", "--json", zoo.target)
    t.ok(rc == 2 and so == "" and se.startswith("ndspy: ") and
         len(se.splitlines()) == 1, "--dot --json: usage, exit 2, one line",
         (rc, se))


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
             summary_says(rows[-1], len(lines)) and
             len(rows) == len(lines) + 2,
             "text: a header, a row per array, a summary", so[-400:])
        rc, so, se = ndspy("list", "--min-bytes", big, zoo.target)
        rows = so.splitlines()
        t.ok(rc == 0 and rows and summary_says(
                 rows[-1], sum(1 for x in lines if x["nbytes"] >= big)),
             "text with --min-bytes: the summary counts those, singular "
             "for one", so[-400:])
        types = {x["type"] for x in lines}
        t.ok({"matrix", "memmap", "recarray", "Sub", "Wide"} <= types,
             "subclasses are found (matrix, memmap, recarray, Python ones, "
             "one too large for pymalloc)", types)
        dot_graph(t, zoo)
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
