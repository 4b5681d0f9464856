"""Allocation sites: `ndspy watch --json` gives every NumPy buffer the
Python frames that allocated it, and they equal, frame for frame (file and
line, innermost first), what the target's own tracemalloc (16 frames)
recorded for the same buffer: three calls deep, in a second thread, in a
module imported from a file, and 21 calls deep (cut at 16). Function
names are checked where the target says which they are. --depth 0 sends
no stacks; --depth 3 cuts them at three."""
import json
import os
import signal
import sys
import tempfile
import time

from tap import Tap, Zoo, start_watch

FUNCTIONS = {  # the innermost names among the target's own frames
    "deep": ["leaf", "middle", "outer", "main"],
    "thread": ["<lambda>"],
    "module": ["make", "main"],
    "deeper": ["recurse"] * 16,
}


def events(p, out=None):
    """The events of watch P after SIGINT, from its pipe or from OUT, the
    file it wrote them to."""
    p.send_signal(signal.SIGINT)
    got, err = p.communicate(timeout=30)
    if out:
        out.seek(0)
        got = out.read()
    return [json.loads(x) for x in got.decode().split("\n") if x], \
        err.decode()


def text(p):
    p.send_signal(signal.SIGINT)
    return p.communicate(timeout=30)[0].decode()


def main():
    t = Tap("sites")
    zoo = Zoo(script="sites.py")
    try:
        w16, why = start_watch(zoo.pid, "--json")
        w0, _ = start_watch(zoo.pid, "--json", "--depth", "0")
        w3, _ = start_watch(zoo.pid, "--json", "--depth", "3")
        wt, _ = start_watch(zoo.pid)
        t.ok(all("probed at" in x for x in why), "watch has its probes in",
             "".join(why))
        zoo.proc.stdin.write(b"go\n")
        zoo.proc.stdin.flush()
        t.ok(zoo.proc.stdout.readline().strip() == b"done",
             "the target ran its allocations")
        with open(os.path.join(zoo.dir, "sites.json")) as f:
            truth = json.load(f)
        time.sleep(0.3)
        ev16, err16 = events(w16)
        ev0, _ = events(w0)
        ev3, _ = events(w3)
        lines = text(wt)
        for name, want in sorted(truth["sites"].items()):
            got = [x for x in ev16 if x["event"] == "alloc" and
                   x["size"] == want["size"]]
            stack = got[0].get("stack") if len(got) == 1 else None
            frames = [[f["file"], f["line"]] for f in stack or []]
            t.ok(frames == want["frames"],
                 "%s: the stack equals tracemalloc's, frame for frame "
                 "(%d frames)" % (name, len(want["frames"])),
                 "tracemalloc: %s\nndspy: %s\n%s" %
                 (want["frames"], got, err16[-300:]))
            names = [f["function"].rsplit(".", 1)[-1] for f in stack or []
                     if f["file"].endswith(("/sites.py", "/sitemod.py"))]
            names = names[:len(FUNCTIONS[name])]
            t.ok(names == FUNCTIONS[name], "%s: function names %s" %
                 (name, FUNCTIONS[name]), names)
            cut = [x for x in ev3 if x["event"] == "alloc" and
                   x["size"] == want["size"]]
            t.ok(len(cut) == 1 and [[f["file"], f["line"]]
                                    for f in cut[0].get("stack", [])] ==
                 want["frames"][:3], "%s: --depth 3 keeps the innermost "
                 "three" % name, cut)
        t.ok(len(truth["sites"]) == 4, "tracemalloc saw all four buffers",
             truth)
        deep = truth["sites"].get("deep", {"frames": [["", 0]]})
        want = " %s:%d leaf" % (os.path.basename(deep["frames"][0][0]),
                                deep["frames"][0][1])
        addr = [x["addr"] for x in ev16 if x["event"] == "alloc" and
                x["size"] == deep.get("size")]
        line = [x for x in lines.splitlines() if addr and
                x.startswith("+ 0x%x " % addr[0])]
        t.ok(len(line) == 1 and line[0].endswith(want),
             "text: the buffer's line ends with its innermost frame,%s" %
             want, line)
        t.ok(ev0 and all("stack" not in x for x in ev0),
             "--depth 0: no stacks", ev0[:3])
        # many buffers: every one named, none lost
        with tempfile.TemporaryFile() as out:
            wb, _ = start_watch(zoo.pid, "--json", out=out)
            zoo.proc.stdin.write(b"busy\n")
            zoo.proc.stdin.flush()
            made = int(zoo.proc.stdout.readline())
            time.sleep(0.3)
            evb, errb = events(wb, out)
        busy = [x for x in evb if x["event"] == "alloc" and
                x["size"] == 8 * 1005]
        summ = evb[-1] if evb else {}
        unnamed = [x for x in busy if [f["function"].rsplit(".", 1)[-1]
                                       for f in x.get("stack", [])][:3] !=
                   ["leaf", "middle", "outer"]]
        t.ok(len(busy) == made and not unnamed and summ.get("lost") == 0,
             "%d buffers in 1.5 s from the main thread behind 100 newer "
             "threads: every one seen with its stack, none lost" % made, "seen %d, unnamed %d %s, summary %s\n%s" %
             (len(busy), len(unnamed), unnamed[:1], summ, errb[-300:]))
        t.ok(zoo.running_untraced(), "the target runs untraced afterwards",
             zoo.state())
    finally:
        zoo.stop()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
