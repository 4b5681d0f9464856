"""Makes README's pictures again, from ndspy's own output on this machine
(as root, after `make`): a watch of tests/integration/profiled.py writing
--folded, --pprof and --html while Prometheus scrapes its --metrics, top
in tmux, and list --dot of owners.py. Run: /usr/bin/python3 tests/pictures/make.py
It writes, beside itself: flame.png (the --html page in Chromium), pprof.svg
(go tool pprof -svg), prometheus.png (Prometheus's graph of the live bytes),
top.txt (top's screen), owners.svg (dot -Tsvg), profile.folded."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from chromium import FLAGS, CHROMIUM, render  # noqa: E402
from tap import free_port  # noqa: E402

NDSPY = os.path.join(ROOT, "build", "ndspy")
PY = "/usr/bin/python3"


def wait_url(url, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read()
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("no answer from " + url)


def screenshot(url, png, width=1100, height=760):
    with tempfile.TemporaryDirectory() as prof:
        subprocess.run([CHROMIUM] + FLAGS + [
            "--user-data-dir=" + prof, "--window-size=%d,%d" % (width, height),
            "--virtual-time-budget=8000", "--screenshot=" + png, url],
            capture_output=True, timeout=120, check=True)


def main():
    tmp = "/tmp/ndspy-demo"  # its path shows in the pictures
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    procs = []
    try:
        # the target, held until "go"; its arrays kept until stdin closes
        script = os.path.join(tmp, "app.py")
        shutil.copy(os.path.join(ROOT, "tests", "integration", "profiled.py"),
                    script)
        target = subprocess.Popen([PY, script, "--go", "--loop"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        procs.append(target)
        target.stdout.readline()
        mport, pport = free_port(), free_port()
        with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n"
                    "  - job_name: ndspy\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % mport)
        prom = subprocess.Popen(
            ["prometheus", "--config.file=" + os.path.join(tmp, "prometheus.yml"),
             "--storage.tsdb.path=" + os.path.join(tmp, "tsdb"),
             "--web.listen-address=127.0.0.1:%d" % pport],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(prom)
        out = {k: os.path.join(tmp, k) for k in
               ("profile.folded", "profile.pb.gz", "flame.html")}
        watch = subprocess.Popen(
            [NDSPY, "watch", "-v", "--duration", "25", "--min-bytes", str(1 << 30),
             "--folded", out["profile.folded"], "--pprof",
             out["profile.pb.gz"], "--html", out["flame.html"],
             "--metrics", "127.0.0.1:%d" % mport, str(target.pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(watch)
        watch.stderr.readline()
        wait_url("http://127.0.0.1:%d/-/ready" % pport)
        time.sleep(4)  # a flat start on the graph
        # top in a terminal, while the target allocates
        sock = "ndspy-pictures"
        subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-s", "top",
                        "-x", "118", "-y", "12", "%s top %d" %
                        (NDSPY, target.pid)], check=True)
        time.sleep(2)
        target.stdin.write(b"go\n")
        target.stdin.flush()
        target.stdout.readline()
        time.sleep(1.1)
        top = subprocess.run(["tmux", "-L", sock, "capture-pane", "-p", "-t",
                              "top"], capture_output=True, text=True).stdout
        subprocess.run(["tmux", "-L", sock, "kill-server"])
        with open(os.path.join(HERE, "top.txt"), "w") as f:
            f.write(top.rstrip() + "\n")
        time.sleep(6)
        screenshot("http://127.0.0.1:%d/graph?g0.expr=ndspy_numpy_live_bytes"
                   "&g0.tab=0&g0.range_input=1m" % pport,
                   os.path.join(HERE, "prometheus.png"))
        watch.wait(timeout=60)
        shutil.copy(out["profile.folded"], os.path.join(HERE, "profile.folded"))
        render(out["flame.html"], os.path.join(HERE, "flame.png"), 1100, 520)
        env = dict(os.environ, HOME=tmp, GOCACHE=os.path.join(tmp, "go"))
        with open(os.path.join(HERE, "pprof.svg"), "wb") as f:
            f.write(subprocess.run(
                ["go", "tool", "pprof", "-svg", "-sample_index=inuse_space",
                 out["profile.pb.gz"]], capture_output=True, env=env,
                check=True).stdout)
        # the ownership graph of a few views, bases and buffers
        owners = subprocess.Popen([PY, os.path.join(HERE, "owners.py")])
        procs.append(owners)
        time.sleep(1.5)
        dot = subprocess.run([NDSPY, "list", str(owners.pid), "--dot",
                              "--min-bytes", "4096"], capture_output=True,
                             check=True).stdout
        with open(os.path.join(HERE, "owners.svg"), "wb") as f:
            f.write(subprocess.run(["dot", "-Tsvg"], input=dot,
                                   capture_output=True, check=True).stdout)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
