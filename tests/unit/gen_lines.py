#!/usr/bin/env python3
"""Writes tests/unit/lines_cases.h, the cases test_lines.c checks: line
tables and the line every instruction offset has, as the real
interpreters' own PyCode_Addr2Line (called through ctypes) reports it.
Compiled code of varied shapes, plus hand-built tables with every entry
kind, per version.

    python3 tests/unit/gen_lines.py          # needs the interpreters below

Each interpreter runs this file from stdin with the argument "probe" and
prints JSON; missing interpreters are skipped (and said so)."""
import json
import os
import subprocess
import sys

PYTHONS = [
    ["/root/.pyenv/versions/3.9.18/bin/python3.9"],
    ["/root/.pyenv/versions/3.10.13/bin/python3.10"],
    ["/root/.pyenv/versions/3.11.7/bin/python3.11"],
    ["/root/.pyenv/versions/3.12.1/bin/python3.12"],
    ["/root/.pyenv/versions/3.13.0/bin/python3.13"],
    ["chroot", "/var/cache/ndspy/chroots/sid", "/usr/bin/python3.14"],
    ["chroot", "/var/cache/ndspy/chroots/sid", "/usr/bin/python3.15"],
]

# Valid 3.9 syntax. Shapes: a loop (backward jump), try/except/finally,
# comprehension, multi-line lambda and call (negative deltas), then a
# function with a +200 line jump, an expression spanning 150 lines (-150)
# and one line of more than 255 bytes of bytecode.
SRC = (
    "import os\n"
    "\n"
    "\n"
    "def shapes(x, items):\n"
    "    total = 0\n"
    "    for i in items:\n"
    "        total += i\n"
    "    try:\n"
    "        q = total / x\n"
    "    except ZeroDivisionError:\n"
    "        q = None\n"
    "    finally:\n"
    "        total += 1\n"
    "    sq = [v * v for v in items if v]\n"
    "    f = lambda y: (y +\n"
    "                   1)\n"
    "    r = f(\n"
    "        q,\n"
    "    ) if q else 0\n"
    "    while x > 0:\n"
    "        x -= 1\n"
    "    return r + len(sq)\n"
    "\n"
    "\n"
    "def gen(n):\n"
    "    # no code here\n"
    "\n"
    "    yield from range(n)\n"
    "    yield n\n"
    "\n"
    "\n"
    "def long_jumps(a):\n"
    "    b = a + 1\n"
    + "\n" * 200 +
    "    c = b * 2\n"
    "    d = (c,\n"
    + "\n" * 150 +
    "         b)\n"
    "    e = [" + ", ".join(["a"] * 130) + "]\n"
    "    return e, d\n"
)


def svarint(v):
    return varint((-v << 1) | 1 if v < 0 else v << 1)


def varint(u):
    out = []
    while u >= 64:
        out.append(64 | (u & 63))
        u >>= 6
    out.append(u)
    return out


def entry(kind, units, rest=()):
    return [0x80 | kind << 3 | (units - 1)] + list(rest)


def synthetic(minor):
    """Tables the compiler rarely or never writes, still valid."""
    if minor == 9:
        # negative and -128 increments, zero-length pairs, an odd last byte
        return [bytes([0, 5, 2, 1, 4, 0x80, 0, 0x7f, 6, 0xff, 0, 0x81,
                       10, 3, 255, 0, 2, 4, 7])]
    if minor == 10:
        # folded zero-length pairs, no-line ranges (-128 keeps the line)
        return [bytes([0, 127, 0, 127, 4, 10, 6, 0xf0, 2, 0x80, 4, 3,
                       0, 0x80, 2, 5, 254, 0, 8, 0x81, 2, 0x80, 2, 0])]
    t = []
    for k in range(10):  # short forms: one column byte
        t += entry(k, k % 8 + 1, [k * 3])
    t += entry(10, 2, [4, 9]) + entry(11, 1, [0, 1]) + entry(12, 8, [5, 6])
    t += entry(13, 3, svarint(100)) + entry(13, 1, svarint(-70))
    t += entry(15, 2)
    t += entry(14, 4, svarint(-3) + varint(2) + varint(200) + varint(5))
    t += entry(15, 1) + entry(0, 1, [0])
    t += entry(14, 2, svarint(5000) + varint(0) + varint(0) + varint(0))
    t += entry(13, 2, svarint(0)) + entry(15, 8)
    return [bytes(t)]


def probe():
    import ctypes
    import dis
    addr2line = ctypes.pythonapi.PyCode_Addr2Line
    addr2line.argtypes = [ctypes.py_object, ctypes.c_int]
    addr2line.restype = ctypes.c_int
    minor = sys.version_info[1]

    def table(co):
        return co.co_lnotab if minor == 9 else co.co_linetable

    def runs(co):
        """(start, end, line) over every even addr, -2 to past the end."""
        out = []
        for a in range(-2, len(co.co_code) + 8, 2):
            line = addr2line(co, a)
            if out and out[-1][2] == line and out[-1][1] == a:
                out[-1][1] = a + 2
            else:
                out.append([a, a + 2, line])
        return out

    def crosscheck(co, rs):
        """The same lines as the documented Python-level views."""
        at = {a: line for s, e, line in rs for a in range(s, e, 2)}
        if minor == 9:
            starts = list(dis.findlinestarts(co))
            for a in range(0, len(co.co_code), 2):
                want = [l for s, l in starts if s <= a][-1]
                assert at[a] == want, (co.co_name, a)
        else:
            for s, e, line in co.co_lines():
                for a in range(s, e, 2):
                    assert at[a] == (-1 if line is None else line), (co, a)

    cases = []

    def walk(co):
        rs = runs(co)
        crosscheck(co, rs)
        cases.append({"name": "%s:%d" % (co.co_name, co.co_firstlineno),
                      "first": co.co_firstlineno,
                      "table": list(table(co)), "runs": rs})
        for c in co.co_consts:
            if hasattr(c, "co_code"):
                walk(c)

    walk(compile(SRC, "shapes.py", "exec"))
    base = compile("def f(): return 1\n", "s.py", "exec").co_consts[0]
    for i, t in enumerate(synthetic(minor)):
        key = "co_lnotab" if minor == 9 else "co_linetable"
        co = base.replace(**{key: t, "co_firstlineno": 40})
        rs = runs(co)
        # ranges reach past co_code: the table's own end, then no line
        end = sum(t[0::2]) if minor < 11 else \
            sum(((b & 7) + 1) * 2 for b in t if b & 128)
        while rs[-1][1] < end + 8:
            a = rs[-1][1]
            line = addr2line(co, a)
            if rs[-1][2] == line:
                rs[-1][1] = a + 2
            else:
                rs.append([a, a + 2, line])
        cases.append({"name": "synthetic%d" % i, "first": 40,
                      "table": list(t), "runs": rs})
    print(json.dumps({"version": "%d.%d" % sys.version_info[:2],
                      "minor": minor, "cases": cases}))


def c_case(ver, minor, i, case):
    ident = "v%s_%d" % (ver.replace(".", "_"), i)
    tb = case["table"]
    rows = []
    for j in range(0, len(tb), 16):
        rows.append("\t" + ", ".join("0x%02x" % b for b in tb[j:j + 16]) + ",")
    rr = ["\t{%d, %d, %d}," % tuple(r) for r in case["runs"]]
    repr_ = "ND_LINES_LNOTAB" if minor == 9 else \
        "ND_LINES_310" if minor == 10 else "ND_LINES_LOCATIONS"
    text = "static const uint8_t %s_t[] = {\n%s\n};\n" % (
        ident, "\n".join(rows) if rows else "\t0,")
    text += "static const int %s_r[][3] = {\n%s\n};\n" % (ident, "\n".join(rr))
    entry_ = '\t{"%s %s", %s, %d, %s_t, %d, %s_r, %d},' % (
        ver, case["name"], repr_, case["first"], ident, len(tb), ident,
        len(case["runs"]))
    return text, entry_


HEADER = """/* Generated by tests/unit/gen_lines.py: each version's line tables
 * and what its own PyCode_Addr2Line said of them. Included by
 * test_lines.c only. */
"""


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.abspath(__file__)) as f:
        me = f.read()
    arrays, entries = [], []
    for cmd in PYTHONS:
        if not os.path.exists(cmd[-1] if cmd[0] != "chroot"
                              else cmd[1] + cmd[2]):
            print("skipped (missing): %s" % " ".join(cmd), file=sys.stderr)
            continue
        out = subprocess.run(cmd + ["-", "probe"], input=me, check=True,
                             capture_output=True, text=True).stdout
        got = json.loads(out)
        print("%s: %d cases" % (got["version"], len(got["cases"])),
              file=sys.stderr)
        for i, case in enumerate(got["cases"]):
            a, e = c_case(got["version"], got["minor"], i, case)
            arrays.append(a)
            entries.append(e)
    with open(os.path.join(here, "lines_cases.h"), "w") as f:
        f.write(HEADER + "".join(arrays)
                + "static const struct vcase cases[] = {\n"
                + "\n".join(entries) + "\n};\n")


if __name__ == "__main__":
    probe() if sys.argv[1:] == ["probe"] else main()
