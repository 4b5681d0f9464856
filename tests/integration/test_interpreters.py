"""Names, why and stacks read the main interpreter, not the newest one: a
target that made a subinterpreter after its own arr still has
__main__.arr found as its array (where its Python has subinterpreters:
_interpreters from 3.13, _xxsubinterpreters in 3.12)."""
import json
import sys

from tap import Tap, Zoo, ndspy


def main():
    t = Tap("interpreters")
    zoo = Zoo(script="interpreters.py")
    try:
        if not zoo.truth["subinterpreters"]:
            t.skip("__main__.arr with a subinterpreter made after it",
                   "the target's Python has no subinterpreter module")
            return t.done()
        rc, so, se = ndspy("show", "--json", zoo.target, "__main__.arr")
        t.ok(rc == 0 and json.loads(so)["address"] == zoo.truth["arr"],
             "__main__.arr is the main interpreter's array, not the "
             "subinterpreter's list", (rc, so[:200], se))
        rc, so, se = ndspy("why", "--json", zoo.target, zoo.truth["arr"])
        ans = json.loads(so) if rc == 0 and so else {}
        t.ok((ans.get("paths") or [None])[0] == "__main__.arr",
             "why walks the main interpreter's modules", (rc, so, se))
        rc, so, se = ndspy("stacks", zoo.target)
        t.ok(rc == 0 and "interpreters.py" in so,
             "stacks shows the main interpreter's thread", so[-600:] + se)
        label = "(Python, interpreter %d) waiting_in_sub" % zoo.truth["sub_id"]
        t.ok(rc == 0 and label in so,
             "stacks labels the subinterpreter's frames", so[-1500:] + se)
        # JSON: the thread in the subinterpreter has its frames, newest
        # first, then the main interpreter's that entered it
        rc, so, se = ndspy("stacks", "--json", zoo.target)
        frames = []
        for line in so.splitlines() if rc == 0 else []:
            py = [f for f in json.loads(line)["frames"]
                  if f["kind"] == "python"]
            if any(f["function"] == "waiting_in_sub" for f in py):
                frames = [(f["function"], f["interpreter"]) for f in py]
        want = [("waiting_in_sub", zoo.truth["sub_id"]),
                ("<module>", zoo.truth["sub_id"])]
        t.ok(frames[:2] == want and frames[2:] and
             all(i == 0 for _, i in frames[2:]),
             "stacks --json: the subinterpreter's frames, then the main "
             "interpreter's", (frames, se))
    finally:
        zoo.stop()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
