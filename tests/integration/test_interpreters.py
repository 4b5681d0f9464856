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
    finally:
        zoo.stop()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
