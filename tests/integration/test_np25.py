"""NumPy 2.5's allocator, its calls made by a test extension
(np25_calls.c) exactly as NumPy 2.5 makes them: allocations that untrack
the raw domain before NumPy's domain tracks them, a resize with
tracemalloc off that NumPy never reports (watch still sees the new
buffer, at its size, with the Python line that resized it), the same
resize with tracemalloc on (seen once, not twice), the public
PyDataMem_RENEW with tracemalloc on (a resize), and off, whose new buffer
cannot be seen: counted as "resized, untracked". The first resize is made
by a thread that made no call before, whose thread state the probe must
find. audit finds the resized buffer left
live as an orphan at its new size."""
import json
import os
import signal
import subprocess
import sys

from tap import NDSPY, Tap, Zoo, build_extension, check_gil, start_watch


def go(zoo):
    build_extension(os.environ.get("PYTHON", "/usr/bin/python3"),
                    os.environ.get("NDSPY_TARGET_ROOT", ""), zoo.dir,
                    "np25_calls.c", "np25_calls")
    zoo.proc.stdin.write(b"go\n")
    zoo.proc.stdin.flush()
    done = zoo.proc.stdout.readline().strip() == b"done"
    with open(os.path.join(zoo.dir, "steps.json")) as f:
        return done, json.load(f)


def check_watch(t):
    zoo = Zoo(script="resized.py")
    try:
        w, _ = start_watch(zoo.pid, "--json")
        done, steps = go(zoo)
        w.send_signal(signal.SIGINT)
        out, err = w.communicate(timeout=30)
        ev = [json.loads(x) for x in out.decode().splitlines() if x]
    finally:
        zoo.stop()
    summ = [x for x in ev if x["event"] == "summary"]
    summ = summ[0] if summ else {}
    t.ok(done, "the target made its calls", err.decode()[-300:])
    check_gil(t, steps)

    def allocs(addr, size):
        return [x for x in ev if x["event"] == "alloc" and
                x["addr"] == addr and x["size"] == size]

    def frees(addr):
        return [x for x in ev if x["event"] == "free" and x["addr"] == addr]
    off = steps["off"]
    got = allocs(off["new"], off["size"])
    t.ok(len(got) == 1 and got[0].get("resized_from") == off["old"] and
         frees(off["old"]),
         "tracemalloc off: the resize NumPy does not report is seen, "
         "its old buffer freed", (off, got, ev[:8]))
    stack = got[0].get("stack") or [] if got else []
    t.ok(stack and stack[0]["function"].endswith("resize_here"),
         "the resized buffer's site is the Python line that resized it, in "
         "a thread new to the probe",
         stack)
    on = steps["on"]
    t.ok(len(allocs(on["new"], on["size"])) == 1 and frees(on["old"]),
         "tracemalloc on: the resize is seen once, not twice",
         [x for x in ev if x.get("addr") in (on["old"], on["new"])])
    pon = steps["public_on"]
    got = allocs(pon["new"], pon["size"])
    t.ok(len(got) == 1 and got[0].get("resized_from") == pon["old"] and
         frees(pon["old"]),
         "PyDataMem_RENEW with tracemalloc on: seen as a resize",
         [x for x in ev if x.get("addr") in (pon["old"], pon["new"])])
    pub = steps["public"]
    t.ok(frees(pub["old"]) and not allocs(pub["new"], pub["size"]) and
         summ.get("resized_untracked") == 1,
         "PyDataMem_RENEW with tracemalloc off: freed, counted as resized "
         "and untracked", (summ, [x for x in ev if x.get("addr") in
                                  (pub["old"], pub["new"])]))
    t.ok(summ.get("allocs") == 7 and summ.get("frees") == 5 and
         summ.get("live_bytes") == on["size"] + pon["size"] and
         summ.get("lost") == 0,
         "the summary adds up: 7 allocations, 5 frees, the two resized "
         "buffers live", summ)


def check_audit(t):
    zoo = Zoo(script="resized.py")
    if not zoo.truth["numpy"]:
        zoo.stop()
        for name in ("audit: the resized buffer is an orphan",
                     "audit counts the resize it could not follow"):
            t.skip(name, "the target's Python has no NumPy")
        return
    try:
        p = subprocess.Popen([NDSPY, "audit", "-v", "--json", "--duration",
                              "3", str(zoo.pid)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stderr.readline()   # the first scan is in
        done, steps = go(zoo)
        out, err = p.communicate(timeout=60)
    finally:
        zoo.stop()
    rep = [json.loads(x) for x in out.decode().splitlines() if x]
    on = steps["on"]
    orphans = [(x["data"], x["size"]) for x in rep if x["kind"] == "orphan"]
    summ = [x for x in rep if x["kind"] == "summary"]
    pon = steps["public_on"]
    t.ok(done and p.returncode == 0 and (on["new"], on["size"]) in orphans
         and (pon["new"], pon["size"]) in orphans
         and (steps["off"]["new"], steps["off"]["size"]) not in orphans,
         "audit: the buffer resized and left live is an orphan at its new "
         "size; the one resized then freed is not", (orphans, steps,
                                                      err.decode()[-300:]))
    t.ok(summ and summ[0]["resized_untracked"] == 1,
         "audit counts the resize it could not follow", summ)


def main():
    t = Tap("np25")
    check_watch(t)
    check_audit(t)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
