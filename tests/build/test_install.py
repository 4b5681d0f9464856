"""`make install DESTDIR=... PREFIX=/usr`: the binary, the man page and the
bash completion land where they belong. The man page renders without a
warning (man -l, groff -ww) and names every command `ndspy --help` lists
and every long option of each command's --help, under that command; the
examples of each --help appear in it as written. The completion, sourced
in bash, completes commands, options, the PIDs of Python processes and
files. man and groff come from `make test-deps` (man-db, groff-base):
this suite installs nothing."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from tap import Tap  # noqa: E402

FILES = ("bin/ndspy", "share/man/man1/ndspy.1",
         "share/bash-completion/completions/ndspy")


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          **kw)


def commands(ndspy):
    """The commands `ndspy --help` lists under "commands:"."""
    out, on = [], False
    for line in run([ndspy, "--help"]).stdout.splitlines():
        if line.startswith("commands:"):
            on = True
        elif on and not line:
            break
        elif on and re.match(r"  [a-z]", line):
            out.append(line.split()[0])
    return out


def long_options(text):
    """The long options a --help text lists (its "  --opt ..." lines)."""
    opts = []
    for line in text.splitlines():
        m = re.match(r" {1,4}(?:-[A-Za-z0-9], )?(--[a-z][a-z0-9-]*)", line)
        if m:
            opts.append(m.group(1))
    return opts


def examples(text):
    """The lines under an "examples:" or "EXAMPLES" heading, stripped."""
    out, on = [], False
    for line in text.splitlines():
        if re.fullmatch(r"(?i)examples?:?", line.strip()) and \
                not line.startswith(" "):
            on = True
        elif on and line and not line.startswith(" "):
            on = False
        elif on and line.strip():
            out.append(" ".join(line.split()))
    return out


def sections(rendered, names):
    """The rendered COMMANDS subsections, by name (a line "   NAME")."""
    out, cur = {}, None
    for line in rendered.splitlines():
        m = re.fullmatch(r"   (\S+)", line)
        if m and m.group(1) in names:
            cur = m.group(1)
            out[cur] = []
        elif line and not line.startswith(" "):
            cur = None              # the next .SH
        elif cur:
            out[cur].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def has_word(text, word):
    return re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])",
                     text) is not None


COMPLETE = r"""
source "$1"; shift
fn=$(complete -p ndspy | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
"$fn"
rc=$?
printf '%s\n' "${COMPREPLY[@]}"
exit $rc
"""


def complete(completion, words, cwd=None):
    """COMPREPLY for the words (the last one being completed)."""
    p = subprocess.run(["bash", "-c", COMPLETE, "complete", completion] +
                       list(words), capture_output=True, text=True,
                       timeout=60, cwd=cwd)
    return p.returncode, [w for w in p.stdout.splitlines() if w], p.stderr


def main():
    t = Tap("install")
    d = tempfile.mkdtemp(prefix="ndspy-install-")
    procs = []
    try:
        dest = os.path.join(d, "dest")
        p = run(["make", "-C", ROOT, "install", "DESTDIR=" + dest,
                 "PREFIX=/usr"])
        t.ok(p.returncode == 0, "make install DESTDIR=... PREFIX=/usr exits 0",
             p.stdout[-600:] + p.stderr[-1500:])
        paths = {f: os.path.join(dest, "usr", f) for f in FILES}
        missing = [f for f, path in paths.items() if not os.path.isfile(path)]
        t.ok(not missing, "it installs " + ", ".join(FILES),
             "missing: %s" % missing)
        t.ok(os.access(paths["bin/ndspy"], os.X_OK) and
             run([paths["bin/ndspy"], "--version"]).returncode == 0,
             "the installed binary runs")
        ndspy, page = paths["bin/ndspy"], paths["share/man/man1/ndspy.1"]
        completion = paths["share/bash-completion/completions/ndspy"]
        cmds = commands(ndspy)
        t.ok(len(cmds) >= 8, "ndspy --help lists the commands", cmds)

        # the man page
        man, groff = shutil.which("man"), shutil.which("groff")
        if not man or not groff:
            t.ok(False, "man and groff are installed",
                 "missing: run 'make test-deps' (man-db, groff-base)")
        rendered = ""
        if man and os.path.isfile(page):
            env = dict(os.environ, MANWIDTH="80", MANPAGER="cat",
                       PAGER="cat")
            p = run([man, "-l", page], env=env)
            rendered = p.stdout
            t.ok(p.returncode == 0 and not p.stderr.strip() and
                 "NAME" in rendered,
                 "MANWIDTH=80 man -l renders the page, no warnings",
                 p.stderr[-1500:])
            leftover = [ln for ln in rendered.splitlines()
                        if re.search(r"(^|\s)\.(TP|PP|SS|SH|RS|RE|nf|fi|br|"
                                     r"sp)\b|\\[fe&-]", ln)]
            t.ok(not leftover, "no roff request or escape is printed as text",
                 "\n".join(leftover[:10]))
        if groff and os.path.isfile(page):
            p = run([groff, "-ww", "-z", "-man", page])
            t.ok(p.returncode == 0 and not p.stderr.strip(),
                 "groff -ww -z -man: no warnings", p.stderr[-1500:])
        if rendered:
            for head in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS",
                         "OBJECT", "EXIT STATUS", "PRIVILEGES", "ENVIRONMENT",
                         "EXAMPLES", "SEE ALSO"):
                if not re.search("^" + head + "$", rendered, re.M):
                    t.ok(False, "the page has a section " + head)
                    break
            else:
                t.ok(True, "the page has its sections")
            subs = sections(rendered, cmds)
            t.ok(sorted(subs) == sorted(cmds),
                 "COMMANDS has a subsection for every command",
                 "commands %s, subsections %s" % (cmds, sorted(subs)))
            absent, bad_examples = [], []
            for c in cmds:
                help_text = run([ndspy, c, "--help"]).stdout
                body = subs.get(c, "")
                absent += ["%s %s" % (c, o) for o in long_options(help_text)
                           if not has_word(body, o)]
                flat = " ".join(body.split())
                bad_examples += [e for e in examples(help_text)
                                 if e not in flat]
            t.ok(not absent, "every long option of each command's --help "
                 "is in its subsection", "\n".join(absent))
            t.ok(not bad_examples, "each --help's examples are in the page "
                 "as written", "\n".join(bad_examples))
            top = examples(run([ndspy, "--help"]).stdout)
            flat = " ".join(rendered.split())
            t.ok(all(e in flat for e in top),
                 "ndspy --help's examples are in the page",
                 [e for e in top if e not in flat])

        # the completion
        py = subprocess.Popen(["/usr/bin/python3", "-c",
                               "import time; time.sleep(30)"])
        # a Python whose comm is no longer "python...": found by its exe
        renamed = subprocess.Popen(["/usr/bin/python3", "-c",
                                    "import ctypes, time\n"
                                    "ctypes.CDLL(None).prctl(15, b'worker', "
                                    "0, 0, 0)\ntime.sleep(30)"])
        other = subprocess.Popen(["sleep", "30"])
        procs += [py, renamed, other]
        for _ in range(100):
            try:
                with open("/proc/%d/comm" % renamed.pid) as f:
                    if f.read().strip() == "worker":
                        break
            except OSError:
                pass
            time.sleep(0.05)

        rc, words, err = complete(completion, [ndspy, "w"])
        t.ok(rc == 0 and sorted(words) == ["watch", "why"],
             "'ndspy w' completes to watch and why", (words, err))
        rc, words, err = complete(completion, [ndspy, ""])
        t.ok(sorted(words) == sorted(cmds), "'ndspy ' offers every command",
             (words, err))
        rc, words, err = complete(completion, [ndspy, "watch", "--du"])
        t.ok(rc == 0 and words == ["--duration"],
             "'ndspy watch --du' completes to --duration", (words, err))
        rc, words, err = complete(completion, [ndspy, "snapshot", "--"])
        t.ok(set(long_options(run([ndspy, "snapshot", "--help"]).stdout))
             <= set(words), "'ndspy snapshot --' offers its options",
             (words, err))
        rc, words, err = complete(completion, [ndspy, "show", ""])
        t.ok(rc == 0 and str(py.pid) in words,
             "'ndspy show ' offers the PID of a python3 process",
             (py.pid, words, err))
        t.ok(str(renamed.pid) in words and str(other.pid) not in words,
             "... and of a Python renamed by prctl (its exe), not of sleep",
             (renamed.pid, other.pid, words))
        rc, words, err = complete(completion, [ndspy, "top", ""])
        t.ok(rc == 0 and str(py.pid) in words and
             not [w for w in words if not w.isdigit()],
             "'ndspy top ' (a PID) offers PIDs only", (words, err))
        rc, words, err = complete(completion, [ndspy, "list", "--dot", ""])
        t.ok(rc == 0 and not err and str(py.pid) in words,
             "'ndspy list --dot ' does not break: it completes a TARGET",
             (rc, words, err))

        # files: a core as TARGET, and for --save, -o, --sysroot (dirs)
        files = os.path.join(d, "files")
        os.makedirs(os.path.join(files, "rootfs"))
        for name in ("core.1234", "out.npy"):
            open(os.path.join(files, name), "w").close()
        rc, words, err = complete(completion, [ndspy, "show", "co"],
                                  cwd=files)
        t.ok(words == ["core.1234"], "a TARGET completes a file (a core)",
             (words, err))
        rc, words, err = complete(completion,
                                  [ndspy, "show", "1", "--save", "ou"],
                                  cwd=files)
        t.ok(words == ["out.npy"], "--save completes a file", (words, err))
        rc, words, err = complete(completion,
                                  [ndspy, "snapshot", "1", "-o", "ou"],
                                  cwd=files)
        t.ok(words == ["out.npy"], "-o completes a file", (words, err))
        rc, words, err = complete(completion,
                                  [ndspy, "list", "--sysroot", ""],
                                  cwd=files)
        t.ok(words == ["rootfs"], "--sysroot completes directories",
             (words, err))
        # one-letter files a glob of "[options]" would match
        for name in "opnist":
            open(os.path.join(files, name), "w").close()
        rc, words, err = complete(completion, [ndspy, "show", "co"],
                                  cwd=files)
        t.ok(words == ["core.1234"], "... also where files named o, p, n, "
             "i, s, t are", (words, err))
        # bash breaks HOST:PORT into three words
        rc, words, err = complete(completion, [ndspy, "watch", "--metrics",
                                               "127.0.0.1", ":", "9464", ""])
        t.ok(rc == 0 and str(py.pid) in words,
             "'ndspy watch --metrics 127.0.0.1:9464 ' offers PIDs",
             (words, err))
        rc, words, err = complete(completion,
                                  [ndspy, "watch", "--duration", ""])
        t.ok(rc == 0 and not words, "--duration SEC completes nothing",
             (words, err))
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(d, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
