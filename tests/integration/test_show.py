"""`ndspy show` against a live zoo: every field of --json equals what NumPy
says from inside, --save equals np.save, the text repr equals repr()."""
import json
import os
import sys

import numpy as np

from tap import Tap, Zoo, ndspy

NVALUES = 12
SCALARS = ("address", "type", "refcnt", "ndim", "shape", "strides", "size",
           "nbytes", "data", "dtype", "flags", "array_interface")


def region_of(pid, addr):
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if lo <= addr < hi:
                path = parts[5].strip() if len(parts) > 5 else ""
                if path.endswith(" (deleted)"):
                    path = path[:-10]
                if not path or path.startswith("[anon"):
                    kind = "anon"
                elif path == "[heap]":
                    kind = "heap"
                elif path.startswith("[stack"):
                    kind = "stack"
                elif path.startswith("/"):
                    kind = "file"
                else:
                    kind = "other"
                return {"kind": kind, "start": lo, "end": hi,
                        "path": path if kind == "file" else None}
    return {"kind": "unmapped", "start": None, "end": None, "path": None}


def diff(ours, truth, path="$"):
    """Differences between two JSON values, as text lines."""
    if isinstance(truth, dict):
        if not isinstance(ours, dict):
            return ["%s: %r != %r" % (path, ours, truth)]
        out = []
        for k in truth:
            if k not in ours:
                out.append("%s.%s missing" % (path, k))
            else:
                out += diff(ours[k], truth[k], "%s.%s" % (path, k))
        return out
    if isinstance(truth, list):
        if not isinstance(ours, list) or len(ours) != len(truth):
            return ["%s: %r != %r" % (path, ours, truth)]
        out = []
        for i, (a, b) in enumerate(zip(ours, truth)):
            out += diff(a, b, "%s[%d]" % (path, i))
        return out
    if type(ours) is bool or type(truth) is bool:
        return [] if ours is truth else ["%s: %r != %r" % (path, ours, truth)]
    return [] if ours == truth else ["%s: %r != %r" % (path, ours, truth)]


def check_save(t, zoo, name, truth, ours_path):
    theirs_path = os.path.join(zoo.dir, name + ".npy")
    try:
        # big structured headers exceed np.load's default limit
        a = np.load(ours_path, max_header_size=1 << 20)
        b = np.load(theirs_path, max_header_size=1 << 20)
        same = a.dtype == b.dtype and a.shape == b.shape and \
            a.tobytes() == b.tobytes()
        why = "ours %s %s, np.save %s %s" % (a.dtype, a.shape, b.dtype,
                                              b.shape)
    except Exception as e:
        same, why = False, "np.load: %r" % e
    t.ok(same, "%s --save loads equal to np.save" % name, why)
    # NumPy >= 1.24 writes the same header rules we follow: then the files
    # must be identical byte for byte
    if tuple(int(x) for x in zoo.truth["numpy"].split(".")[:2]) >= (1, 24):
        with open(ours_path, "rb") as f1, open(theirs_path, "rb") as f2:
            x, y = f1.read(), f2.read()
        t.ok(x == y, "%s --save is byte-identical to np.save" % name,
             "ours %r...\nnp.save %r..." % (x[:128], y[:128]))


def main():
    t = Tap("show")
    zoo = Zoo()
    try:
        objs = zoo.truth["objects"]
        t.ok(len(objs) >= 30, "zoo holds at least 30 kinds of arrays",
             len(objs))
        for name, truth in objs.items():
            out = os.path.join(zoo.dir, "ours-" + name + ".npy")
            rc, so, se = ndspy("show", zoo.target, truth["address"], "--json",
                               "--data", NVALUES, "--save", out)
            if not truth["saved"]:
                t.ok(rc == 1 and "cannot be saved" in se or
                     "cannot describe" in se,
                     "%s --save is refused like np.save refuses it" % name,
                     "exit %d: %s" % (rc, se))
                rc, so, se = ndspy("show", zoo.target, truth["address"],
                                   "--json", "--data", NVALUES)
            if not t.ok(rc == 0, "%s exits 0" % name, se):
                continue
            ours = json.loads(so)
            bad = []
            for k in SCALARS:
                bad += diff(ours.get(k), truth[k], k)
            bad += diff(ours.get("values"), truth["values"], "values")
            bad += diff(ours.get("base"), truth["base"], "base")
            bad += diff(ours.get("memory"),
                        region_of(zoo.pid, truth["data"]), "memory")
            t.ok(not bad, "%s --json equals NumPy's own view" % name,
                 "\n".join(bad))
            if truth["saved"]:
                check_save(t, zoo, name, truth, out)
            # by name: the module global holding it says the same
            rc, so2, se = ndspy("show", zoo.target, "__main__." + name, "--json",
                                "--data", NVALUES)
            t.ok(rc == 0 and json.loads(so2) == ours,
                 "%s: show __main__.%s equals show ADDRESS" % (name, name), se)
            rc, so, se = ndspy("show", zoo.target, truth["address"])
            text_repr = so.split("\n  object ")[0]
            t.ok(rc == 0 and text_repr == truth["repr"],
                 "%s text shows repr(arr)" % name,
                 "ours:\n%s\nrepr:\n%s" % (text_repr, truth["repr"]))
        # the /proc/PID/mem fallback gives the same answers
        if zoo.core:
            t.skip("NDSPY_MEM=procfs", "a core is read from its file")
        else:
            env = dict(os.environ, NDSPY_MEM="procfs")
            bad = []
            for name in ("nb_int32", "struct_nested", "sparse_view", "object_array"):
                truth = objs[name]
                rc, so, se = ndspy("show", "-v", zoo.target, truth["address"],
                                   "--json", "--data", NVALUES, env=env)
                ours = json.loads(so) if rc == 0 else {}
                bad += ["%s: exit %d %s" % (name, rc, se)] if rc else []
                bad += diff(ours.get("values"), truth["values"], name)
                bad += [] if "/proc/PID/mem" in se else [name + ": not procfs"]
            t.ok(not bad, "NDSPY_MEM=procfs reads through /proc/PID/mem, "
                 "same values", "\n".join(bad))
        # instance attributes, through the objects' __dict__
        for path, addr in zoo.truth["attributes"].items():
            rc, so, se = ndspy("show", "--json", zoo.target, path)
            t.ok(rc == 0 and json.loads(so)["address"] == addr,
                 "show %s finds the attribute's array" % path, se)
        # attributes never put in a __dict__ (inline values, 3.11+)
        for path, addr in zoo.truth["inline"].items():
            rc, so, se = ndspy("show", "--json", zoo.target, path)
            t.ok(rc == 0 and json.loads(so)["address"] == addr,
                 "show %s finds the attribute's array" % path, se)
        # 3.13+ publishes its offsets: they must be the ones used
        rc, so, se = ndspy("show", "-v", zoo.target, objs["nb_int32"]["address"])
        py = tuple(int(x) for x in zoo.truth["python"].split(".")[:2])
        want = "its _Py_DebugOffsets" if py >= (3, 13) else "ndspy's table"
        t.ok(rc == 0 and "object offsets from " + want in se,
             "Python %d.%d: object offsets from %s" % (py + (want,)), se)
        # all of them in one call, unpaused: same answers
        addrs = [v["address"] for v in objs.values()]
        rc, so, se = ndspy("show", "--no-pause", "--json", zoo.target, *addrs)
        lines = so.splitlines()
        t.ok(rc == 0 and len(lines) == len(addrs) and
             [json.loads(x)["address"] for x in lines] == addrs,
             "one call with every address, --no-pause", se)
        t.ok(zoo.running_untraced(), "the zoo runs untraced afterwards",
             zoo.state())
    finally:
        zoo.stop()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
