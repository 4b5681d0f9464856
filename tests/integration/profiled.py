"""The reports' target: 30 MiB kept by keep_big, 5 MiB kept by keep_small,
64 MiB allocated and freed by churn (one MiB at a time), 32 TiB asked
for in vain by fail; then "ready".
With --go it prints "waiting" and starts only when a line arrives on stdin;
with --wait it holds what it keeps until the next line (or EOF, or kill).
With --truth FILE it writes, before "ready", what it did as JSON: its
pid, the file its code runs from (co_filename), the line of the np.ones
call in each function, the bytes kept and churned, and what tracemalloc
(started when the allocations begin) holds of NumPy's buffers then, by
traceback (outermost frame first). With --loop, churn runs on (1 MiB
allocated and freed about every millisecond) after "ready" until a line
arrives on stdin, then the process exits."""
import inspect
import json
import os
import sys
import threading
import time

import numpy as np

MIB = 1 << 20
NUMPY_DOMAIN = 389047   # what NumPy gives PyTraceMalloc_Track
kept = []
churned = []


def keep_big():
    kept.append(np.ones(30 * MIB, dtype=np.uint8))


def keep_small():
    kept.append(np.ones(5 * MIB, dtype=np.uint8))


def churn():
    for _ in range(64):
        a = np.ones(MIB, dtype=np.uint8)
        churned.append(a.nbytes)
        del a


def fail():
    """An allocation NumPy cannot make: it still tracks it, at address 0,
    and no report may count it."""
    try:
        np.empty(1 << 45, dtype=np.uint8)
    except MemoryError:
        pass


def loop(stop):
    while not stop.is_set():
        np.ones(MIB, dtype=np.uint8)   # allocated, freed at once
        time.sleep(0.001)


def call_line(fn, call="np.ones("):
    """The line of fn's np.ones call, as the interpreter numbers it."""
    src, first = inspect.getsourcelines(fn)
    return next(first + i for i, text in enumerate(src) if call in text)


def truth(path, tracemalloc):
    snap = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.DomainFilter(True, NUMPY_DOMAIN)])
    tracemalloc.stop()
    # tracemalloc keeps fail()'s allocation as NumPy tracked it (address
    # 0, its size): no buffer, so not the truth
    failed = (fail.__code__.co_filename, call_line(fail, "np.empty("))
    traces = [{"stack": [[f.filename, f.lineno] for f in st.traceback],
               "size": st.size, "count": st.count}
              for st in snap.statistics("traceback")
              if not any((f.filename, f.lineno) == failed
                         for f in st.traceback)]
    fns = (keep_big, keep_small, churn)
    out = {"pid": os.getpid(), "numpy": np.__version__,
           "python": "%d.%d" % sys.version_info[:2],
           "file": keep_big.__code__.co_filename,
           "lines": {f.__name__: call_line(f) for f in fns},
           "nbytes": {"keep_big": kept[0].nbytes, "keep_small": kept[1].nbytes},
           "churn_bytes": sum(churned), "churn_count": len(churned),
           "traces": traces}
    with open(path + ".tmp", "w") as f:
        json.dump(out, f)
    os.rename(path + ".tmp", path)


def main():
    args = sys.argv[1:]
    out = args[args.index("--truth") + 1] if "--truth" in args else None
    if "--go" in args:
        print("waiting", flush=True)
        sys.stdin.readline()
    if out:
        import tracemalloc
        if not tracemalloc.is_tracing():   # else since startup (-X)
            tracemalloc.start(16)
    keep_big()
    keep_small()
    churn()
    fail()
    if out:
        truth(out, tracemalloc)
    if "--loop" in args:
        stop = threading.Event()
        t = threading.Thread(target=loop, args=(stop,))
        t.start()
        print("ready", flush=True)
        sys.stdin.readline()
        stop.set()
        t.join()
        return
    print("ready", flush=True)
    if "--wait" in args:
        sys.stdin.readline()


main()
