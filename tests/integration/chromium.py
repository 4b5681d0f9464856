"""Render a page with Debian's headless Chromium: its DOM after scripts ran,
and a screenshot judged by a small stdlib PNG decoder. Used by the suites
to check `--html` pages; stdlib only (Python 3.9+).

    from chromium import render, Unavailable
    try:
        dom, png = render("flame.html", "/tmp/flame.png")
    except Unavailable as e:
        skip(str(e))
    assert "keep_big" in dom and png["nonbg_fraction"] > 0.05

Run directly, it checks agent/flame.html: sample and empty profiles, and
click-to-zoom and search driven by an injected script.
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

CHROMIUM = "/usr/bin/chromium"
MARKER = "/*NDSPY_DATA*/"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


class Unavailable(Exception):
    """No usable chromium: a test turns this into a skip."""


def render(html_path, png_path, width=1200, height=800, timeout=60):
    """(dom_text, png_stats) of html_path, its screenshot written to
    png_path. One run gives both: --dump-dom prints to stdout while
    --screenshot writes the file."""
    if not os.access(CHROMIUM, os.X_OK):
        raise Unavailable(CHROMIUM + " not found (apt-get install chromium)")
    profile = tempfile.mkdtemp(prefix="ndspy-chromium-")
    try:
        if os.path.exists(png_path):
            os.unlink(png_path)
        cmd = [CHROMIUM] + FLAGS + [
            "--user-data-dir=" + profile,
            "--window-size=%d,%d" % (width, height),
            # Virtual time lets the page's scripts (and requestAnimationFrame)
            # settle before the dump without a wall-clock sleep.
            "--virtual-time-budget=2000",
            "--screenshot=" + os.path.abspath(png_path),
            "--dump-dom",
            "file://" + os.path.abspath(html_path)]
        try:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError("chromium did not finish in %d s" % timeout)
        except OSError as e:
            raise Unavailable("cannot run %s: %s" % (CHROMIUM, e))
        dom = r.stdout.decode("utf-8", "replace")
        # Some builds print the screenshot notice on stdout, not stderr.
        dom = re.sub(r"^\d+ bytes written to file .*\n?", "", dom, flags=re.M)
        if r.returncode != 0 or not os.path.exists(png_path):
            raise RuntimeError("chromium failed (exit %d): %s" % (
                r.returncode, r.stderr.decode("utf-8", "replace")[-2000:]))
        with open(png_path, "rb") as f:
            stats = png_stats(f.read())
        return dom, stats
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def decode_png(blob):
    """(width, height, channels, rows): rows a list of bytes, 8-bit gray,
    gray+alpha, RGB or RGBA, not interlaced (what Chromium writes)."""
    if blob[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, ihdr = 8, [], None
    while pos < len(blob):
        n, kind = struct.unpack(">I4s", blob[pos:pos + 8])
        body = blob[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    w, h, depth, ctype, _, _, interlace = ihdr
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
    if depth != 8 or channels is None or interlace:
        raise ValueError("unsupported PNG: depth %d, color type %d, interlace %d"
                         % (depth, ctype, interlace))
    raw = zlib.decompress(b"".join(idat))
    bpp, stride = channels, w * channels
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        ftype = raw[y * (stride + 1)]
        cur = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if ftype == 1:      # Sub
            for i in range(bpp, stride):
                cur[i] = (cur[i] + cur[i - bpp]) & 255
        elif ftype == 2:    # Up
            for i in range(stride):
                cur[i] = (cur[i] + prev[i]) & 255
        elif ftype == 3:    # Average
            for i in range(stride):
                left = cur[i - bpp] if i >= bpp else 0
                cur[i] = (cur[i] + ((left + prev[i]) >> 1)) & 255
        elif ftype == 4:    # Paeth
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[i] = (cur[i] + pred) & 255
        elif ftype != 0:
            raise ValueError("bad PNG filter %d" % ftype)
        rows.append(bytes(cur))
        prev = cur
    return w, h, channels, rows


def png_stats(blob):
    """width, height, colors (distinct RGB), background (the commonest
    color), nonbg_fraction and nonwhite_fraction of the pixels."""
    w, h, ch, rows = decode_png(blob)
    counts = {}
    for row in rows:
        if ch >= 3:
            # Alpha is dropped: a screenshot is opaque.
            px = [row[i:i + 3] for i in range(0, len(row), ch)]
        else:
            px = [bytes([v, v, v]) for v in row[::ch]]
        for p in px:
            counts[p] = counts.get(p, 0) + 1
    total = w * h
    bg = max(counts, key=counts.get)
    return {"width": w, "height": h, "colors": len(counts),
            "background": tuple(bg),
            "nonbg_fraction": 1 - counts[bg] / total,
            "nonwhite_fraction": 1 - counts.get(b"\xff\xff\xff", 0) / total}


def page(template, profile, extra_script=""):
    """The page ndspy writes: the template with the profile at the marker
    (with '<' escaped as the C JSON writer does), plus an optional script."""
    head, sep, tail = template.partition(MARKER)
    assert sep, "marker missing from template"
    body = json.dumps(profile).replace("<", "\\u003c")
    html = head + body + tail
    if extra_script:
        html = html.replace("</body>", "<script>" + extra_script + "</script>\n</body>")
    return html


# ---- self-test -------------------------------------------------------------

MIB = 1 << 20
SAMPLE = {
    "title": "ndspy watch: process 1234 (python3 app.py)",
    "unit": "bytes", "total_bytes": 30 * MIB + 5 * MIB + 3 * MIB + 4096,
    "total_count": 8,
    "stacks": [
        {"frames": ["<module> (app.py:40)", "main (app.py:30)", "keep_big (app.py:10)"],
         "bytes": 30 * MIB, "count": 1},
        {"frames": ["<module> (app.py:40)", "main (app.py:30)", "keep_small (app.py:20)"],
         "bytes": 5 * MIB, "count": 2},
        {"frames": ["<module> (app.py:40)", "load (loader.py:8)", "parse (loader.py:55)",
                    "decode_block (codec.py:112)"],
         "bytes": 3 * MIB, "count": 3},
        {"frames": ["[no Python stack]"], "bytes": 4096, "count": 2},
    ],
}
# A name that would be markup if the page ever used innerHTML, or would end
# the data script if the JSON writer did not escape '<'.
HOSTILE = dict(SAMPLE, stacks=SAMPLE["stacks"] + [
    {"frames": ["<module> (app.py:40)", "tiny </script><b>x</b> (app.py:50)"],
     "bytes": 800, "count": 1}])
EMPTY = {"title": "ndspy audit: process 99 (python3 idle.py)", "unit": "bytes",
         "total_bytes": 0, "total_count": 0, "stacks": []}

# Runs after the page's own script: drives it as a user would (events, not
# its internals) and leaves what it saw in <pre id="probe"> for the DOM dump.
PROBE = r"""
(function () {
  const out = {};
  const frames = () => [...document.querySelectorAll('#chart .f')];
  // A frame's first text node is its name; a size may follow in a span.
  const find = (s) => frames().find((e) => e.firstChild.data.startsWith(s));
  const W = document.getElementById('chart').clientWidth;
  out.width = W;
  out.before = frames().map((e) => e.firstChild.data);
  find('keep_big').dispatchEvent(new MouseEvent('click', {bubbles: true}));
  const big = find('keep_big');
  out.zoomed = {zoom: document.body.dataset.zoom, big_width: big && parseFloat(big.style.width),
                small: !!find('keep_small'), reset_enabled: !document.getElementById('reset').disabled};
  find('main').dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: 50, clientY: 50}));
  out.status = document.getElementById('status').textContent;
  out.tip = document.getElementById('tip').textContent;
  document.getElementById('reset').click();
  out.reset = {zoom: document.body.dataset.zoom, small: !!find('keep_small')};
  const q = document.getElementById('search');
  q.value = 'keep_';
  q.dispatchEvent(new Event('input', {bubbles: true}));
  out.search = {matches: document.querySelectorAll('#chart .f.match').length,
                bytes: document.body.dataset.matchedBytes,
                text: document.getElementById('matched').textContent};
  q.value = '(bad regex';
  q.dispatchEvent(new Event('input', {bubbles: true}));
  out.bad = document.getElementById('matched').textContent;
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
"""


def _probe(dom):
    m = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert m, "probe script left no result"
    text = m.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return json.loads(text.replace("&quot;", '"'))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "..", "agent", "flame.html")) as f:
        template = f.read()
    assert template.count(MARKER) == 1, "the marker must occur exactly once"
    tmp = tempfile.mkdtemp(prefix="ndspy-flame-")
    try:
        def run(name, html, png):
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write(html)
            return render(path, png)

        try:
            dom, st = run("sample.html", page(template, SAMPLE), "/tmp/flame_example.png")
        except Unavailable as e:
            print("SKIP:", e)
            return 0
        print("sample: %dx%d, %d colors, %.1f%% non-background (bg %s), %.1f%% non-white"
              % (st["width"], st["height"], st["colors"], 100 * st["nonbg_fraction"],
                 st["background"], 100 * st["nonwhite_fraction"]))
        for name in ("keep_big (app.py:10)", "keep_small (app.py:20)", "decode_block (codec.py:112)",
                     "[no Python stack]", "30.0 MiB", "38.0 MiB", "8 buffers"):
            assert name in dom, "missing from DOM: " + name
        assert st["nonbg_fraction"] > 0.03 and st["colors"] >= 8, st
        print("  DOM has the frame names and totals; screenshot in /tmp/flame_example.png")

        dom, st = run("empty.html", page(template, EMPTY), os.path.join(tmp, "empty.png"))
        assert "no live NumPy buffers allocated in the window" in dom
        assert 'class="f' not in dom
        print("empty: message shown, %d colors" % st["colors"])

        dom, _ = run("raw.html", template, os.path.join(tmp, "raw.png"))
        assert "no data embedded" in dom
        print("bare template: opens, says no data embedded")

        dom, _ = run("probe.html", page(template, HOSTILE, PROBE), os.path.join(tmp, "probe.png"))
        # A name is text, never markup.
        assert "<b>x</b>" not in dom and "tiny &lt;/script&gt;&lt;b&gt;x&lt;/b&gt;" in dom
        p = _probe(dom)
        print("probe:", json.dumps(p))
        assert "keep_small (app.py:20)" in p["before"]
        z = p["zoomed"]
        assert z["zoom"] == "keep_big (app.py:10)" and not z["small"] and z["reset_enabled"]
        assert abs(z["big_width"] - p["width"]) < 1, "zoomed frame not full width"
        assert "main (app.py:30)" in p["status"] and "35.0 MiB" in p["status"] \
            and "36,700,160 bytes" in p["status"] and "3 buffers" in p["status"], p["status"]
        assert "main (app.py:30)" in p["tip"]
        assert p["reset"] == {"zoom": "all", "small": True}
        s = p["search"]
        assert s["matches"] == 2 and s["bytes"] == str(35 * MIB), s
        assert "35.0 MiB" in s["text"] and "of total" in s["text"], s
        assert p["bad"] == "no frame matches", p["bad"]
        print("  click-to-zoom, hover, reset and search work")
        print("OK")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
