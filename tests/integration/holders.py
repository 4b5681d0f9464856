"""A target that holds arrays in every kind of place `ndspy why` follows,
two that no root reaches, and an evaluator of the path grammar: after
"ready", each line read is a path, answered with the id() of the object it
names in this process (or "error: ..."). argv: TRUTH.json DIR."""
import ast
import collections
import ctypes
import gc
import json
import os
import re
import sys
import threading
import time

import numpy as np

ARRAYS = {}


def keep(name, a):
    ARRAYS[name] = id(a)
    return a


class Slotted:
    __slots__ = ("arr",)

    def __init__(self):
        self.arr = keep("slot", np.arange(5.0))


class Holder:
    klass = keep("class_attribute", np.zeros(3))

    def __init__(self):
        self.x = keep("instance_dict", np.ones(4))


def make_closure():
    a = keep("closure", np.full(6, 2.0))

    def f():
        return a
    return f


def with_default(x=keep("default_argument", np.arange(7))):
    return x


d = {"k": keep("dict_str_key", np.arange(8)),
     3: keep("dict_int_key", np.arange(9))}
lst = [None, keep("list", np.arange(12))]
tup = (keep("tuple", np.arange(13)),)
dq = collections.deque([1, 2, keep("deque", np.arange(14))])
s = Slotted()
h = Holder()
clo = make_closure()
oa = np.empty((2, 2), dtype=object)
oa[1, 0] = keep("object_array", np.arange(15))
_base = keep("base_of_view", np.arange(16))
view = _base[2:5]
del _base



class Box:
    def __init__(self, a):
        self.arr = a


boxes = {Box(keep("set_member", np.arange(18)))}
nested = {"a": [{"b": (keep("nested", np.arange(19)),)}]}
# where a careless walk goes wrong: a class named like a builtin, an
# object used as a dict key, a class only its instances reach, a 0-d
# object array, a key Python cannot write, a 3.14 tagged argument
function = type("function", (), {"__slots__": ("a", "b", "c", "d", "e",
                                               "f")})
impostor = function()
impostor.f = keep("class_named_function", np.arange(23))
keyed = {Box(keep("dict_key_object", np.arange(24))): 1}


def local_class():
    class Local:
        held = keep("local_class_attribute", np.arange(25))
    return Local()


local_instance = local_class()
zero_d = np.empty((), dtype=object)
zero_d[()] = keep("zero_d_object_array", np.arange(26))
odd_keys = {"\ud800x": keep("surrogate_key", np.arange(27)),
            ("t", 1): keep("tuple_key", np.arange(28))}
def generator():
    held = keep("generator_local", np.arange(31))
    yield 1
    return held


class Suspend:
    def __await__(self):
        yield


async def coroutine():
    held = keep("coroutine_local", np.arange(32))
    await Suspend()
    return held


gen = generator()
next(gen)
coro = coroutine()
coro.send(None)
shared = keep("shared", np.arange(22))
shared_in = ([shared], {"s": shared})


try:  # Debian's python3-pandas and python3-sklearn, where the pair has them
    import pandas as pd
    frame = pd.DataFrame({"a": np.arange(1000.0), "b": np.arange(1000.0)})
    keep("pandas_block", frame._mgr.blocks[0].values)
except ImportError:
    pd = None
try:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    _x = np.random.rand(100, 3)
    model = Pipeline([("scale", StandardScaler()),
                      ("clf", LogisticRegression())]).fit(_x, _x[:, 0] > .5)
    keep("sklearn_scale_mean", model.named_steps["scale"].mean_)
    keep("sklearn_coef", model.named_steps["clf"].coef_)
except ImportError:
    model = None


def sleeper(ready, passed):
    local_only = keep("frame_local", np.arange(17))
    ready.set()
    time.sleep(3600)
    return local_only, passed


def leak_from_c():
    a = np.arange(20)
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(a))
    return id(a)


def uncollected_cycle():
    gc.disable()
    cycle = [np.arange(21)]
    cycle.append(cycle)
    return id(cycle[0])


def root(path, loop_frame):
    """The object a path's root names, and the rest of the path."""
    m = re.match(r"frame:(\d+):(\d+)\.(\w+)", path)
    if m:
        tid, n, name = int(m[1]), int(m[2]), m[3]
        ident = next(t.ident for t in threading.enumerate()
                     if t.native_id == tid)
        f = loop_frame if ident == threading.main_thread().ident else \
            sys._current_frames()[ident]
        for _ in range(n):
            f = f.f_back
        return f.f_locals[name], path[m.end():]
    names = sorted((n for n in sys.modules if path.startswith(n + ".")),
                   key=len)
    mod = names[-1]
    m = re.match(r"\.(\w+)", path[len(mod):])
    return getattr(sys.modules[mod], m[1]), path[len(mod) + m.end():]


def bracket(rest):
    """The text inside the [...] rest starts with, and what follows."""
    depth, quote, i = 0, None, 0
    while True:
        c = rest[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return rest[1:i], rest[i + 1:]
        i += 1


def by_id(objs, addr):
    return next(o for o in objs if id(o) == addr)


def evaluate(path, loop_frame):
    obj, rest = root(path, loop_frame)
    while rest:
        if rest[0] == ".":
            m = re.match(r"\.(\w+)", rest)
            obj, rest = getattr(obj, m[1]), rest[m.end():]
        elif rest[0] == "[":
            inner, rest = bracket(rest)
            if inner.startswith("{0x"):
                obj = obj[by_id(obj.keys(), int(inner[1:-1], 16))]
            else:
                obj = obj[ast.literal_eval(inner)]
        elif rest[0] == "{":
            m = re.match(r"\{(0x[0-9a-f]+)\}", rest)
            obj, rest = by_id(gc.get_referents(obj), int(m[1], 16)), \
                rest[m.end():]
        else:
            raise ValueError("bad step at %r" % rest)
    return obj


def main():
    ready = threading.Event()
    th = threading.Thread(target=sleeper, daemon=True,
                          args=(ready, keep("frame_argument", np.arange(29))))
    th.start()
    ready.wait()
    # paths name its frames by depth: wait until Event.set() has returned
    for _ in range(1000):
        if sys._current_frames()[th.ident].f_code is sleeper.__code__:
            break
        time.sleep(0.01)
    else:
        raise RuntimeError("the sleeper did not return from Event.set()")
    truth = {"pid": os.getpid(), "arrays": ARRAYS,
             "pandas": pd is not None, "sklearn": model is not None,
             "unreachable": {"leaked_from_c": leak_from_c(),
                             "uncollected_cycle": uncollected_cycle()}}
    with open(sys.argv[1], "w") as f:
        json.dump(truth, f)
    print("ready", flush=True)
    loop_frame = sys._getframe()
    for line in sys.stdin:
        try:
            print(id(evaluate(line.strip(), loop_frame)), flush=True)
        except Exception as e:  # the test reports what went wrong
            print("error: %r" % e, flush=True)


main()
