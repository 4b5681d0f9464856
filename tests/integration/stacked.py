"""A target for `ndspy stacks` and core files: the main thread runs
inner(), called by outer(); a worker waits on an Event. truth.json
(argv[1]) holds each thread's stack as the traceback module sees it,
newest frame first. It says ready only once each thread is where it
stays: the worker blocked in Condition.wait, the main thread back in
inner() (a watchdog thread checks, then prints).
  stacked.py TRUTH DIR sleep   inner() sleeps; stdin closing ends it
  stacked.py TRUTH DIR abort   a few arrays are built (and one np.save'd
                               into DIR), then inner() calls os.abort(): the
                               kernel writes a core into DIR"""
import inspect
import json
import os
import sys
import threading
import time
import traceback

ev = threading.Event()


def worker():
    ev.wait()


def watchdog(truth, main):
    for _ in range(1000):
        if sys._current_frames()[main].f_code is inner.__code__:
            break
        time.sleep(0.01)
    else:  # no "ready": the harness sees the end of the output
        print("the main thread did not return to inner()", file=sys.stderr)
        os._exit(1)
    publish(truth)
    sys.stdin.read()
    os._exit(0)


def start_watchdog(truth):
    threading.Thread(target=watchdog, args=(truth, threading.get_ident()),
                     daemon=True).start()


def frames(stack):
    return [[f.filename, f.name, f.lineno] for f in reversed(stack)]


def blocking_line():
    """Condition.wait's line that blocks: its second waiter.acquire() (the
    lines before it are in a function named wait too)."""
    lines, first = inspect.getsourcelines(threading.Condition.wait)
    return [first + i for i, line in enumerate(lines)
            if line.strip() == "waiter.acquire()"][1]


def settled(th):
    """The worker's stack once it blocks inside Event.wait."""
    last, at = None, blocking_line()
    for _ in range(500):
        frame = sys._current_frames().get(th.ident)
        now = frames(traceback.extract_stack(frame)) if frame else None
        if now and now == last and now[0][1:] == ["wait", at] and \
                frame.f_code is threading.Condition.wait.__code__:
            return now
        last = now
        time.sleep(0.02)
    raise RuntimeError("the worker did not block")


def publish(truth):
    with open(sys.argv[1], "w") as f:
        json.dump(truth, f)
    print("ready", flush=True)


def inner(truth):
    # one line each: the stack recorded is the one the call runs in
    if sys.argv[3] == "abort":
        truth["main"] = frames(traceback.extract_stack()); publish(truth); os.abort()  # noqa: E702,E501
    truth["main"] = frames(traceback.extract_stack()); start_watchdog(truth); time.sleep(1000)  # noqa: E702,E501


def outer(truth):
    inner(truth)


def arrays(here):
    import numpy as np
    base = np.arange(120000, dtype=np.float32).reshape(300, 400)
    view = base[::3, 7:]
    rec = np.zeros(5, dtype=[("x", "<i4"), ("y", ">f8", (2,))])
    np.save(os.path.join(here, "view.npy"), view)
    out = {}
    for name, a in (("base", base), ("view", view), ("rec", rec)):
        out[name] = {"address": id(a), "shape": list(a.shape),
                     "strides": list(a.strides),
                     "data": a.__array_interface__["data"][0],
                     "str": a.dtype.str}
    return out, (base, view, rec), np.__version__


th = threading.Thread(target=worker, daemon=True)
th.start()
truth = {"pid": os.getpid(), "main_tid": threading.get_native_id(),
         "worker": settled(th), "worker_tid": th.native_id}
if sys.argv[3] == "abort":
    os.chdir(sys.argv[2])
    truth["arrays"], keep, truth["numpy"] = arrays(sys.argv[2])
outer(truth)
