"""`ndspy top` in a real terminal (tmux, send-keys and capture-pane),
against profiled.py: its lines appear within 3 s of the allocations with
the bytes the script keeps, `s` changes the sort, the view follows the
terminal's size, and the terminal is given back (normal screen, cursor
shown) whether top ends by q, by SIGTERM or by the process's exit."""
import os
import shutil
import subprocess
import tempfile
import time

from tap import HERE, NDSPY, Tap, end_process, ndspy, wait_for

SOCKET = "ndspy-test-top-%d" % os.getpid()


def tmux(*args):
    return subprocess.run(["tmux", "-L", SOCKET] + list(args),
                          capture_output=True, text=True, timeout=10).stdout


def screen():
    return tmux("capture-pane", "-p", "-t", "top")


def ones_lines():
    """The line of the np.ones call in each function of profiled.py."""
    out, fn = {}, None
    with open(os.path.join(HERE, "profiled.py")) as f:
        for n, line in enumerate(f, 1):
            if line.startswith("def "):
                fn = line[4:].split("(")[0]
            elif "np.ones(" in line and fn not in out:
                out[fn] = n
    return out


def row(text, needle):
    for line in text.splitlines():
        if needle in line:
            return line
    return ""


def start_top(pid, width=150, height=30):
    tmux("kill-session", "-t", "top")
    tmux("new-session", "-d", "-s", "top", "-x", str(width), "-y",
         str(height), "%s top %d; echo EXITED $?; sleep 600" % (NDSPY, pid))
    return wait_for(lambda: "sorted by" in screen(), 15)


def top_pid():
    """ndspy's PID: the child of the pane's shell."""
    shell = tmux("display", "-p", "-t", "top", "#{pane_pid}").strip()
    try:
        with open("/proc/%s/task/%s/children" % (shell, shell)) as f:
            kids = f.read().split()
        return int(kids[0]) if kids else None
    except (OSError, ValueError):
        return None


def restored(t, how):
    t.ok(wait_for(lambda: "EXITED 0" in screen(), 10),
         "%s: top exits 0" % how, screen())
    t.ok(tmux("display", "-p", "-t", "top", "#{alternate_on} #{cursor_flag}")
         .strip() == "0 1", "%s: the normal screen and the cursor are back"
         % how, tmux("display", "-p", "-t", "top",
                     "#{alternate_on} #{cursor_flag}"))


def start_target(python, root):
    d = tempfile.mkdtemp(prefix="ndspy-test-",
                         dir=os.path.join(root, "tmp") if root else None)
    shutil.copy(os.path.join(HERE, "profiled.py"), d)
    inside = d[len(root):] if root else d
    p = subprocess.Popen(python.split() + [os.path.join(inside, "profiled.py"),
                                           "--go", "--wait"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    if p.stdout.readline().strip() != b"waiting":
        end_process(p)
        raise RuntimeError("profiled.py did not start")
    return p, d


def main():
    t = Tap("top")
    if not shutil.which("tmux"):
        t.skip("top under tmux", "no tmux")
        return t.done()
    python = os.environ.get("PYTHON", "/usr/bin/python3")
    root = os.environ.get("NDSPY_TARGET_ROOT", "")
    lines = ones_lines()
    p, d = start_target(python, root)
    try:
        rc, out, err = ndspy("top", p.pid)
        t.ok(rc == 2 and "terminal" in err and len(err.splitlines()) == 1,
             "without a terminal: exit 2, one line", (rc, err))
        t.ok(start_top(p.pid), "the header is drawn", screen())
        p.stdin.write(b"go\n")
        p.stdin.flush()
        start = time.time()
        big = "keep_big (%s:%d)" % (os.path.join(d[len(root):],
                                                 "profiled.py"),
                                    lines["keep_big"])
        seen = wait_for(lambda: big in screen(), 3)
        t.ok(seen, "keep_big's line shown within 3 s (%.1f s)"
             % (time.time() - start), screen())
        wait_for(lambda: "64.0 MiB" in row(screen(), "churn ("), 3)
        s = screen()
        t.ok(row(s, big).split()[:3] == ["30.0", "MiB", "1"],
             "keep_big holds 30 MiB in one buffer", row(s, big))
        small = row(s, "keep_small (")
        t.ok(small.split()[:3] == ["5.0", "MiB", "1"] and
             small.endswith(":%d)" % lines["keep_small"]),
             "keep_small holds 5 MiB in one buffer", small)
        churn = row(s, "churn (")
        t.ok(churn.split()[:2] == ["0", "B"] and "64.0 MiB" in churn,
             "churn holds nothing of the 64 MiB it allocated", churn)
        order = [i for i, x in enumerate(s.splitlines())
                 if "keep_big (" in x or "keep_small (" in x or "churn (" in x]
        t.ok(len(order) == 3 and "keep_big" in s.splitlines()[order[0]]
             and "churn" in s.splitlines()[order[2]],
             "sorted by live bytes", s)
        tmux("send-keys", "-t", "top", "s")
        t.ok(wait_for(lambda: "sorted by allocation rate" in screen(), 3),
             "s sorts by the allocation rate", screen())
        tmux("resize-window", "-t", "top", "-x", "72", "-y", "12")
        narrow = "keep_big (profiled.py:%d)" % lines["keep_big"]
        t.ok(wait_for(lambda: narrow in screen(), 3) and
             all(len(x) <= 72 for x in screen().splitlines()),
             "at 72 columns the rows fit and the file loses its directory",
             screen())
        tmux("send-keys", "-t", "top", "q")
        restored(t, "q")

        start_top(p.pid)
        pid = top_pid()
        t.ok(pid is not None, "top's PID", tmux("list-panes", "-a"))
        if pid:
            os.kill(pid, 15)
        restored(t, "SIGTERM")

        start_top(p.pid)
        end_process(p)
        restored(t, "the process exits")
    finally:
        tmux("kill-server")
        end_process(p)
        shutil.rmtree(d, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    raise SystemExit(main())
