"""`ndspy audit` against a target that leaks one buffer, leaks one 800 KB
array from C, pins a 16 MiB array behind an 80-byte view and churns 20,000
short-lived arrays: exactly that orphan, that unreachable array and that
pinned owner are reported, nothing else; a target that exits mid-window
still gets a report."""
import json
import os
import subprocess
import sys
import time

from tap import NDSPY, Tap, Zoo, ndspy_on_sleep


def marked_lines():
    """leaky.py's lines marked "site:NAME", by NAME."""
    out = {}
    with open(os.path.join(os.path.dirname(__file__), "leaky.py")) as f:
        for n, line in enumerate(f, 1):
            if "site:" in line:
                out[line.split("site:")[1].strip()] = n
    return out


SITES = marked_lines()


def site(finding):
    """(file name, line) of a finding's innermost frame in leaky.py."""
    for f in finding.get("stack", []):
        if f["file"].endswith("/leaky.py"):
            return "leaky.py", f["line"]
    return None


def audit(zoo, duration, then):
    """Runs audit over the target doing `then` once the first scan is in."""
    p = subprocess.Popen([NDSPY, "audit", "-v", "--json", "--duration",
                          str(duration), str(zoo.pid)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = p.stderr.readline().decode()   # "N arrays, paused ..."
    then()
    out, err = p.communicate(timeout=60)
    return p.returncode, [json.loads(x) for x in out.decode().splitlines()], \
        first + err.decode()


def main():
    t = Tap("audit")
    zoo = Zoo(script="leaky.py")
    try:
        def go():
            zoo.proc.stdin.write(b"go\n")
            zoo.proc.stdin.flush()
            zoo.proc.stdout.readline()
        rc, rep, err = audit(zoo, 4, go)
        with open(os.path.join(zoo.dir, "done.json")) as f:
            did = json.load(f)
        orphans = [x for x in rep if x["kind"] == "orphan"]
        pinned = [x for x in rep if x["kind"] == "pinned"]
        summ = [x for x in rep if x["kind"] == "summary"]
        t.ok(rc == 0 and summ and summ[0]["lost"] == 0,
             "audit exits 0 with a summary, nothing lost", err)
        t.ok(len(orphans) == 1 and orphans[0]["data"] == did["leaked"] and
             orphans[0]["size"] == did["leaked_size"] and
             orphans[0]["tid"] == did["tid"],
             "exactly the leaked buffer is an orphan", orphans)
        t.ok(len(pinned) == 1 and pinned[0]["owner"] == did["owner"] and
             pinned[0]["data"] == did["owner_data"] and
             pinned[0]["nbytes"] == 16 << 20 and
             pinned[0]["reachable_bytes"] == 80 and
             pinned[0]["views"] == [did["view"]],
             "exactly the 16 MiB array is pinned, by its 80-byte view",
             pinned)
        unreachable = [x for x in rep if x["kind"] == "unreachable"]
        t.ok(len(unreachable) == 1 and
             unreachable[0]["address"] == did["unreachable"] and
             unreachable[0]["nbytes"] == 800000 and
             unreachable[0]["refcnt"] == 1 and
             site(unreachable[0]) == ("leaky.py", SITES["unreachable"]) and
             summ and summ[0]["unreachable"] == 1,
             "exactly the array leaked from C is unreachable (its bytes, "
             "refcnt, and the line that allocated it)", unreachable)
        growth = [x for x in rep if x["kind"] == "growth"]
        t.ok(not any(x.get("size") == 800 or
                     site(x) == ("leaky.py", SITES["short"])
                     for x in growth) and
             summ and summ[0]["allocs"] >= 20002,
             "the 20,000 short-lived arrays leave nothing behind",
             growth)
        t.ok(orphans and site(orphans[0]) == ("leaky.py", SITES["leak"]) and
             orphans[0]["stack"][0]["function"] == "leak",
             "the orphan's stack names leak() and the line that allocated "
             "it (%d)" % SITES["leak"], orphans)
        t.ok(pinned and site(pinned[0]) == ("leaky.py", SITES["pinned"]) and
             pinned[0]["stack"][0]["function"] == "main",
             "the pinned owner's stack names main() and the line that "
             "allocated it (%d)" % SITES["pinned"], pinned)
        t.ok(any(site(x) == ("leaky.py", SITES["pinned"]) and
                 x["bytes"] == 16 << 20 and x["count"] == 1 for x in growth),
             "growth is grouped by site: the 16 MiB one", growth)
        # the target exits during the window
        def leave():
            zoo.proc.stdin.write(b"exit\n")
            zoo.proc.stdin.flush()
        t0 = time.time()
        rc, rep, err = audit(zoo, 30, leave)
        t.ok(rc == 0 and rep and rep[-1]["kind"] == "summary" and
             "exited" in err and time.time() - t0 < 15,
             "a target exiting mid-window still gets a report",
             "exit %d: %s" % (rc, err))
    finally:
        zoo.stop()
    rc, so, se = ndspy_on_sleep("audit", "--duration", "1")
    t.ok(rc == 3 and "not a Python process" in se,
         "auditing a process that is not Python: exit 3", se)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
