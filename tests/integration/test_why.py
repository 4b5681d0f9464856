"""`ndspy why` against holders.py, which holds arrays in every kind of
place the walk follows: each array is reached, and every path printed,
evaluated by the target itself, gives back that same array; an array
held only by a sleeping thread's local gets a frame:TID:N path; arrays no
root reaches (leaked from C, in an uncollected cycle) are said to be
unreachable. With NDSPY_CORE=1 the target is a core of it (paths are
still evaluated in the live process, unchanged since)."""
import json
import os
import sys

from tap import Tap, Zoo, ndspy


def evaluate(zoo, path):
    """The id() of what path names, as the target evaluates it."""
    zoo.proc.stdin.write((path + "\n").encode())
    zoo.proc.stdin.flush()
    return zoo.proc.stdout.readline().decode().strip()


def main():
    t = Tap("why")
    zoo = Zoo(script="holders.py")
    try:
        arrays = zoo.truth["arrays"]
        args = ["why", "--json", "--paths", "3", zoo.target] + \
            [str(a) for a in arrays.values()] + \
            [str(a) for a in zoo.truth["unreachable"].values()]
        rc, so, se = ndspy(*args)
        got = {x["address"]: x for x in map(json.loads, so.splitlines())}
        t.ok(rc == 0 and len(got) == len(args) - 5,
             "why --json answers every array asked", (rc, se))
        for name, addr in arrays.items():
            ans = got.get(addr, {})
            wrong = [(p, evaluate(zoo, p)) for p in ans.get("paths", [])
                     if evaluate(zoo, p) != str(addr)]
            t.ok(ans.get("reachable") and ans.get("paths") and not wrong,
                 "%s: reached; each of its %d paths gives it back in the "
                 "target" % (name, len(ans.get("paths", []))),
                 (ans, wrong))
        paths = got.get(arrays["shared"], {}).get("paths", [])
        t.ok(len(set(paths)) == 3 and paths[0] == "__main__.shared",
             "an array several things hold: three paths (--paths 3), the "
             "shortest first", paths)
        # one grammar in and out: show takes every path why printed
        wrong = []
        for addr in arrays.values():
            for p in got.get(addr, {}).get("paths", []):
                rc, so, se = ndspy("show", "--json", zoo.target, p)
                if rc != 0 or json.loads(so)["address"] != addr:
                    wrong.append((p, rc, se.strip()))
        t.ok(not wrong, "show names the same array by every path why "
             "printed", wrong)
        for lib, name in (("pandas", "pandas_block"),
                          ("sklearn", "sklearn_coef")):
            if not zoo.truth[lib]:
                t.skip("%s: a fitted %s object's arrays" % (lib, lib),
                       "the target's Python has no %s" % lib)
                continue
            paths = got.get(arrays[name], {}).get("paths", [])
            t.ok(paths and paths[0].startswith("__main__."),
                 "%s: reached from __main__ through its objects (%s)" % (
                     lib, paths[0] if paths else "no path"), paths)
        local = got.get(arrays["frame_local"], {}).get("paths", [""])
        t.ok(local[0].startswith("frame:") and
             local[0].endswith(".local_only"),
             "an array only a sleeping function's local holds: "
             "frame:TID:N.local_only", local)
        for name, addr in zoo.truth["unreachable"].items():
            ans = got.get(addr, {})
            t.ok(ans.get("reachable") is False and ans.get("paths") == [],
                 "%s: unreachable, no path" % name, ans)
        rc, so, se = ndspy("why", zoo.target, arrays["list"],
                           zoo.truth["unreachable"]["leaked_from_c"])
        t.ok(rc == 0 and "__main__.lst[1]" in so and
             "no path from Python roots" in so,
             "text: the paths under each array, and unreachable said",
             so + se)
        # every array of the target, each with its shortest path
        rc, so, se = ndspy("why", "--json", zoo.target)
        lines = [json.loads(x) for x in so.splitlines()]
        wrong = [(x["address"], p, evaluate(zoo, p)) for x in lines
                 for p in x["paths"] if evaluate(zoo, p) != str(x["address"])]
        found = {x["address"] for x in lines}
        t.ok(rc == 0 and set(arrays.values()) <= found and not wrong and
             all(len(x["paths"]) <= 1 for x in lines),
             "why without OBJECT: every array, at most one path each, each "
             "path right (%d arrays)" % len(lines), (rc, se, wrong[:5]))
        addr = arrays["frame_local"]
        rc, so, se = ndspy("stacks", "--locals", zoo.target)
        t.ok(rc == 0 and "local_only = 0x%x numpy.ndarray <i8 (17,)" % addr
             in so, "stacks --locals: the sleeping function's local, its "
             "address and array", so[-2000:] + se)
        rc, so, se = ndspy("stacks", "--locals", "--json", zoo.target)
        held = [f["locals"]["local_only"] for th in map(json.loads,
                                                         so.splitlines())
                for f in th["frames"] if f["kind"] == "python" and
                "local_only" in f.get("locals", {})]
        t.ok(rc == 0 and len(held) == 1 and held[0]["address"] == addr and
             held[0]["shape"] == [17],
             "stacks --locals --json: locals.local_only of its frame", held)
        if not zoo.core:
            rc, so, se = ndspy("why", "--no-pause", "--json", zoo.target,
                               arrays["nested"], arrays["frame_local"])
            ans = [json.loads(x) for x in so.splitlines()]
            t.ok(rc == 0 and len(ans) == 2 and
                 ans[0]["paths"] == got[arrays["nested"]]["paths"] and
                 ans[1]["reachable"] is False,
                 "--no-pause: the same paths from the modules; frames are "
                 "no roots (their threads run)", (ans, se))
            snap = os.path.join(zoo.dir, "snap")
            ndspy("snapshot", zoo.target, "-o", snap)
            rc, so, se = ndspy("why", snap)
            t.ok(rc == 3 and "ndspy snapshot holds only" in se,
                 "an ndspy snapshot: refused, one line (exit 3)", (rc, se))
        rc, so, se = ndspy("why", zoo.target, "12345")
        t.ok(rc == 1 and se.startswith("ndspy: ") and len(se.splitlines()) == 1,
             "an OBJECT that is not an array: exit 1, one line", (rc, se))
    finally:
        zoo.stop()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
