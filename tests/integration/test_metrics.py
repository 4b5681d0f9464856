"""`watch --metrics` against profiled.py, host-rooted pairs only (the
HTTP side does not depend on the target's Python): a real Prometheus
scraping it every second (live bytes and keep_big's per-line series equal
to what the target holds), and hostile HTTP clients while the target
churns (garbage, silent and never-reading clients, a 1 MiB request line,
1,000 connections held at once): /metrics must answer a well-behaved
client within 2 s throughout, the watch lose no event and exit 0."""
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from tap import Tap, free_port, start_watch, wait_for

from profiling import BIG, HOST_ROOTED, MIB, QUIET, SMALL, Profiled, \
    http_get, summary_of


SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def parse_metrics(text):
    """([(name, {label: value}, float)], {name: type}, malformed lines)."""
    series, types, bad = [], {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            continue
        if line.startswith("#") or not line:
            continue
        m = SERIES.match(line)
        labels = {}
        if m and m.group(2):
            body = m.group(2)[1:-1]
            pos = 0
            while pos < len(body):
                lm = LABEL.match(body, pos)
                if not lm or lm.end() == pos:
                    m = None
                    break
                labels[lm.group(1)] = lm.group(2).encode().decode(
                    "unicode_escape")
                pos = lm.end()
        try:
            value = float(m.group(3)) if m else None
        except ValueError:
            value = None
        if value is None:
            bad.append(line)
        else:
            series.append((m.group(1), labels, value))
    return series, types, bad


def metric(series, name, **labels):
    vals = [v for n, l, v in series if n == name and
            all(l.get(k) == str(x) for k, x in labels.items())]
    return vals[0] if len(vals) == 1 else None


class Prometheus:
    """Debian's prometheus on loopback, scraping target every second."""

    def __init__(self, target, tmp):
        self.dir = os.path.join(tmp, "prometheus")
        os.makedirs(self.dir)
        self.port = free_port()
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: ndspy\n"
                    "    scrape_interval: 1s\n    scrape_timeout: 1s\n"
                    "    static_configs:\n      - targets: ['%s']\n" % target)
        self.log = open(os.path.join(self.dir, "log"), "w+")
        self.proc = subprocess.Popen(
            ["/usr/bin/prometheus", "--config.file=" + cfg,
             "--storage.tsdb.path=" + os.path.join(self.dir, "tsdb"),
             "--web.listen-address=127.0.0.1:%d" % self.port,
             "--storage.tsdb.retention.time=1h"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir)
        self.url = "http://127.0.0.1:%d" % self.port
        if not wait_for(lambda: self.proc.poll() is not None or
                        http_get(self.url + "/-/ready", 1)[0] == 200, 30):
            raise RuntimeError("prometheus not ready in 30 s")
        if self.proc.poll() is not None:
            raise RuntimeError("prometheus exited: " + self.tail())

    def query(self, q):
        """[(labels, value)] of an instant query."""
        st, _, body, _ = http_get(self.url + "/api/v1/query?query=" +
                                  urllib.parse.quote(q), 5)
        if st != 200:
            return None
        r = json.loads(body)
        return [(x["metric"], float(x["value"][1]))
                for x in r["data"]["result"]]

    def targets(self):
        st, _, body, _ = http_get(self.url + "/api/v1/targets", 5)
        return json.loads(body)["data"]["activeTargets"] if st == 200 else []

    def tail(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-1500:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def metrics_prometheus(t, tmp):
    if not os.access("/usr/bin/prometheus", os.X_OK):
        t.skip("--metrics scraped by Prometheus", "no /usr/bin/prometheus "
               "(apt-get install prometheus)")
        return
    target = Profiled("--go", "--wait")
    port = free_port()
    url = "http://127.0.0.1:%d/metrics" % port
    w, prom = None, None
    try:
        w, _ = start_watch(target.pid, "--json", *QUIET, "--metrics",
                           "127.0.0.1:%d" % port)
        prom = Prometheus("127.0.0.1:%d" % port, tmp)
        truth = target.go()
        live = sum(x["size"] for x in truth["traces"])
        count = sum(x["count"] for x in truth["traces"])
        page = {}

        def settled():
            st, hd, body, _ = http_get(url)
            page.update(status=st, headers=hd, body=body)
            s, _, _ = parse_metrics(body) if st == 200 else ([], 0, 0)
            return metric(s, "ndspy_numpy_live_bytes") == live
        wait_for(settled, 5)
        series, types, bad = parse_metrics(page.get("body", ""))
        pid = target.pid
        fams = {"ndspy_numpy_live_bytes": "gauge",
                "ndspy_numpy_live_buffers": "gauge",
                "ndspy_numpy_allocations_total": "counter",
                "ndspy_numpy_frees_total": "counter",
                "ndspy_numpy_allocated_bytes_total": "counter",
                "ndspy_lost_events_total": "counter",
                "ndspy_numpy_site_live_bytes": "gauge"}
        t.ok(page.get("status") == 200 and not bad and
             page["headers"].get("Content-Type", "").startswith(
                 "text/plain; version=0.0.4") and
             all(types.get(k) == v for k, v in fams.items()) and
             all(l.get("pid") == str(pid) for _, l, _ in series),
             "/metrics: Prometheus text format, every family typed, every "
             "series labelled with the target's pid",
             "status %s, headers %r, bad %r, types %r\n%s"
             % (page.get("status"), page.get("headers"), bad, types,
                page.get("body", "")[:1500]))
        v = metric(series, "ndspy_numpy_live_bytes", pid=pid)
        t.ok(v == live and BIG + SMALL <= v < BIG + SMALL + MIB and
             metric(series, "ndspy_numpy_live_buffers", pid=pid) == count and
             metric(series, "ndspy_lost_events_total", pid=pid) == 0,
             "/metrics: live bytes %d and buffers %d, tracemalloc's in the "
             "target (35 MiB and under 1 MiB more), nothing lost"
             % (live, count), page.get("body", "")[:1200])
        lines = truth["lines"]
        sites = {fn: metric(series, "ndspy_numpy_site_live_bytes",
                            function=fn, file=truth["file"], line=lines[fn])
                 for fn in ("keep_big", "keep_small")}
        t.ok(sites == {"keep_big": BIG, "keep_small": SMALL} and
             not any(n == "ndspy_numpy_site_live_bytes" and
                     l.get("function") == "churn" for n, l, _ in series),
             "/metrics: the per-line series of keep_big (line %d) and "
             "keep_small (line %d), the lines that called np.ones; churn "
             "holds nothing" % (lines["keep_big"], lines["keep_small"]),
             "%r\n%s" % (sites, page.get("body", "")[-1200:]))
        # Prometheus's view: what it scraped after the target was ready
        got = {}

        def scraped():
            got["live"] = prom.query("ndspy_numpy_live_bytes")
            return got["live"] and got["live"][0][1] == live
        wait_for(scraped, 10)
        got["site"] = prom.query('ndspy_numpy_site_live_bytes'
                                 '{function="keep_big"}')
        tg = prom.targets()
        t.ok(got["live"] and len(got["live"]) == 1 and
             got["live"][0][1] == live and
             got["live"][0][0].get("pid") == str(pid) and
             got["live"][0][0].get("job") == "ndspy" and
             tg and tg[0].get("health") == "up" and not tg[0].get("lastError"),
             "Prometheus scrapes --metrics every second: "
             "ndspy_numpy_live_bytes{pid=\"%d\"} = %d, the target healthy"
             % (pid, live), "query %r\ntargets %r\n%s"
             % (got["live"], tg, prom.tail()))
        site = got["site"] or []
        t.ok(len(site) == 1 and site[0][1] == BIG and
             site[0][0].get("line") == str(lines["keep_big"]) and
             site[0][0].get("file") == truth["file"],
             "Prometheus: ndspy_numpy_site_live_bytes{function=\"keep_big\", "
             "line=\"%d\"} = 31457280" % lines["keep_big"], site)
        w.send_signal(signal.SIGINT)
        out, err = w.communicate(timeout=30)
        summ = summary_of(out)
        t.ok(w.returncode == 0 and summ and summ["live_bytes"] == live and
             summ["lost"] == 0,
             "watch --metrics: exit 0 on SIGINT, its summary's live bytes "
             "those served", "exit %s %r: %s"
             % (w.returncode, summ, err.decode()[-600:]))
        st, _, body, _ = http_get(url, 1)
        t.ok(st is None, "nothing listens on the port once watch is gone",
             "status %s" % st)
    finally:
        if prom:
            prom.stop()
        if w and w.poll() is None:
            w.kill()
            w.wait()
        target.stop()


# ---- 3. hostile HTTP clients -------------------------------------------------

def raise_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < n:
        n = hard
    if soft == resource.RLIM_INFINITY or soft >= n:
        return soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (n, hard))
    return n


def listening(port):
    """The addresses with a TCP socket listening on port."""
    out = []
    for name in ("tcp", "tcp6"):
        try:
            with open("/proc/net/" + name) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            addr, _, p = local.partition(":")
            if state != "0A" or int(p, 16) != port:
                continue
            raw = bytes.fromhex(addr)
            if name == "tcp":
                out.append(socket.inet_ntop(socket.AF_INET, raw[::-1]))
            else:
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                out.append(socket.inet_ntop(socket.AF_INET6, words))
    return out


def connect(port, blocking=True):
    s = socket.socket()
    if not blocking:
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        return s
    s.settimeout(3)
    s.connect(("127.0.0.1", port))
    return s


def answer_of(s, wait=1.0):
    """The status line the server sent (b"" if it closed, None if it sent
    nothing within wait seconds)."""
    s.settimeout(wait)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        if not data:
            return None
    except OSError:
        pass
    return data.split(b"\r\n")[0]


GARBAGE = [b"\x00\xff\xfe\x01 garbage\r\n\r\n",
           b"GET\r\n\r\n",
           b"GET / HTTP/9.9\r\n\r\n",
           b"FOO /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
           b"GET /nothing HTTP/1.0\r\n\r\n",
           b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"
           b"abcde",
           b"GET /metrics HTTP/1.1\r\n" + b"X-A: b\r\n" * 3000 + b"\r\n",
           b"\r\n" * 5000,
           bytes(range(256)) * 8]
# requests whose body never comes (or is malformed): answered, refused or
# left to time out
BODIES = [b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n"
          b"\r\nab",
          b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
          b"\r\n\r\nzz\r\n"]


def hostile(t, tmp):
    if raise_fd_limit(4096) < 2100:
        t.skip("hostile HTTP clients", "RLIMIT_NOFILE too low")
        return
    target = Profiled("--go", "--loop")
    port = free_port()
    url = "http://127.0.0.1:%d/metrics" % port
    w = None
    held = []
    try:
        # PORT alone: loopback only
        w, _ = start_watch(target.pid, "--json", *QUIET, "--metrics",
                           str(port))
        target.go()
        t.ok(listening(port) == ["127.0.0.1"],
             "--metrics PORT listens on 127.0.0.1 only", listening(port))

        def allocs():
            st, _, body, secs = http_get(url, 2)
            s = parse_metrics(body)[0] if st == 200 else []
            return metric(s, "ndspy_numpy_allocations_total"), secs
        wait_for(lambda: allocs()[0], 5)
        # garbage: refused (4xx/5xx), closed or left to time out; never a
        # page of metrics
        socks = []
        for g in GARBAGE + BODIES:
            s = connect(port)
            try:
                s.sendall(g)
            except OSError:
                pass
            socks.append(s)
        time.sleep(0.5)
        answers = [answer_of(s, 0.01) for s in socks][:len(GARBAGE)]
        held += socks
        t.ok(not any(a and re.match(rb"HTTP/1\.[01] 2", a) for a in answers)
             and any(a and b" 405 " in a for a in answers) and
             any(a and b" 404 " in a for a in answers),
             "garbage requests: refused (404, 405, 4xx, 5xx), closed or "
             "left to time out, never answered with metrics",
             "\n".join(repr(a) for a in answers))
        # clients that send nothing, and clients that pipeline requests and
        # never read the answers
        for _ in range(8):
            held.append(connect(port))
        for _ in range(8):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(3)
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
            try:
                s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 2000)
            except OSError:
                pass
            held.append(s)
        # a request line of 1 MiB
        big = connect(port)
        try:
            big.sendall(b"GET /" + b"a" * MIB + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        except OSError:
            pass
        big_answer = answer_of(big, 2)
        held.append(big)
        t.ok(big_answer is not None and
             not re.match(rb"HTTP/1\.[01] 2", big_answer),
             "a request line of 1 MiB: refused or closed",
             repr(big_answer))
        a1, s1 = allocs()
        later = {}

        def grew():   # a page is rendered at most every 200 ms
            later["a"], later["s"] = allocs()
            return not a1 or not later["a"] or later["a"] > a1 or \
                later["s"] >= 2
        wait_for(grew, 3)
        a2, s2 = later["a"], later["s"]
        t.ok(w.poll() is None and a1 and a2 and a2 > a1 and s1 < 2 and s2 < 2,
             "with those clients held, /metrics answers a well-behaved client "
             "within 2 s, and the allocations counted grow between two "
             "scrapes (%s, then %s)" % (a1, a2),
             "alive %s, %.2f s, %.2f s" % (w.poll() is None, s1, s2))
        # 1,000 connections at once, held open (half send a request)
        crowd = [connect(port, blocking=False) for _ in range(1000)]
        time.sleep(0.3)
        for i, s in enumerate(crowd):
            if i % 2:
                try:
                    s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                except OSError:
                    pass
        a3, s3 = allocs()
        t.ok(a3 and s3 < 2,
             "with 1,000 connections held open, /metrics answers a "
             "well-behaved client within 2 s",
             "%s after %.2f s" % (a3, s3))
        for s in crowd + held:
            s.close()
        held = []
        a4, s4 = allocs()
        t.ok(w.poll() is None and a4 and s4 < 2 and a4 > a2,
             "once they are gone: ndspy alive, /metrics answers within 2 s, "
             "its count still growing", "alive %s, %s after %.2f s"
             % (w.poll() is None, a4, s4))
        w.send_signal(signal.SIGINT)
        out, err = w.communicate(timeout=30)
        summ = summary_of(out)
        t.ok(w.returncode == 0 and summ and summ["lost"] == 0 and
             summ["allocs"] >= a4,
             "the watch drained its events throughout: exit 0, no event "
             "lost, %s allocations seen" % (summ and summ["allocs"]),
             "exit %s %r: %s" % (w.returncode, summ, err.decode()[-600:]))
    finally:
        for s in held:
            s.close()
        if w and w.poll() is None:
            w.kill()
            w.wait()
        try:
            target.send(b"stop\n")
        except OSError:
            pass
        target.stop()



def main():
    t = Tap("metrics")
    if not HOST_ROOTED:
        t.skip("--metrics", "the target runs in a chroot (host round only)")
        return t.done()
    tmp = tempfile.mkdtemp(prefix="ndspy-metrics-out-")
    try:
        metrics_prometheus(t, tmp)
        hostile(t, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
