"""Names, why, stacks and allocation sites read the main interpreter, not
the newest one: a target that made a subinterpreter after its own arr
still has __main__.arr found as its array, and watch gives its
allocations their Python stack (where its Python has subinterpreters:
_interpreters from 3.13, _xxsubinterpreters before). stacks also shows
the thread running in the subinterpreter, labelled."""
import json
import signal
import sys

from tap import Tap, Zoo, ndspy, start_watch


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
        # the probe finds the allocating thread among the main
        # interpreter's threads, not the subinterpreter's
        w, _ = start_watch(zoo.pid, "--json")
        zoo.proc.stdin.write(b"go\n")
        zoo.proc.stdin.flush()
        done = zoo.proc.stdout.readline().strip() == b"done"
        w.send_signal(signal.SIGINT)
        out, err = w.communicate(timeout=30)
        ev = [json.loads(x) for x in out.decode().split("\n") if x]
        got = [x for x in ev if x["event"] == "alloc" and
               x["size"] == 8 * 1009]
        stack = got[0].get("stack") or [] if len(got) == 1 else []
        t.ok(done and stack and stack[0]["function"].endswith("alloc_here"),
             "watch: the main interpreter's allocation has its Python "
             "stack", (got, err.decode()[-400:]))
    finally:
        zoo.stop()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
