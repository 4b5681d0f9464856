"""A process full of arrays, and what NumPy itself says about each of them.

Run by any Python 3.9+ with NumPy 1.19+ (the host's or a chroot's):
    zoo.py TRUTH.json SAVE_DIR
builds the arrays, writes TRUTH.json (per array: what __array_interface__,
.flags, .strides, .base, dtype and the first values say), saves each array
with np.save into SAVE_DIR, prints "ready", then answers each line read, a
path from a module (MODULE.NAME STEP...), with the id() of the object it
names here (or "error: ..."), until stdin closes.
"""
import ctypes
import json
import mmap
import os
import sys
import tempfile
import types
import warnings

import numpy as np

NVALUES = 12
Z = {}      # name -> array: every array the test looks at
KEEP = []   # owners that must stay alive


def add(name, arr):
    """Keeps arr in Z and as a global of __main__ (for MODULE.NAME)."""
    assert name not in dir(__builtins__), name
    Z[name] = arr
    globals()[name] = arr
    return arr


class Model:
    """Arrays held as instance attributes, for MODULE.NAME.ATTR."""


class Inline:
    """Attributes of an instance whose __dict__ nobody asked for: 3.11+
    keep them beside the object, under the class's shared keys."""


class Slotted:
    """Attributes in __slots__: no dict anywhere."""
    __slots__ = ("w",)


class Pair(tuple):
    """Variable-size objects keep __dict__ after their items (< 3.12)."""


class Count(int):
    pass


class Failure(Exception):
    pass


class LazyModule(types.ModuleType):
    """Modules in sys.modules may be instances of a subclass."""


def build(tmpdir):
    # the seed notebooks, one by one
    x = add("nb_int32", np.array([1, 2, 3], dtype=np.int32))
    x4 = add("nb_int64", np.array([1, 2, 3, 4]))
    add("nb_view_minus1", x4[:-1])
    b = b"1234"
    KEEP.append(b)
    add("nb_frombuffer_bytes", np.frombuffer(b, dtype=np.int8))
    arr = add("nb_floats", np.array([0.0, 1.1, 2.2, 3.3, 4.4, 5.5, 6.6, 7.7, 8.8, 9.9]))
    add("nb_slice_5_7", arr[5:7])
    add("nb_byteswap", arr.byteswap())
    add("nb_view_int32", arr.view(dtype="int32"))
    add("nb_subarray_5", arr[5:])
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    ptr = libc.malloc(4096)
    ctypes.memset(ptr, 0, 4096)

    class Wrapped:
        pass
    w = Wrapped()
    w.__array_interface__ = {"version": 3, "typestr": "<f8",
                             "data": (ptr, False), "shape": (512,)}
    add("nb_malloc_iface", np.asarray(w))
    c_array = add("nb_c_order", np.arange(20000.0).reshape(100, 200))
    add("nb_f_order", np.asfortranarray(c_array))
    r33 = add("nb_randint", np.arange(1, 10).reshape(3, 3))
    add("nb_column_view", r33[:, 0])
    e = add("nb_empty", np.empty((3, 3)))
    e[:] = 0.5

    # shapes
    add("zero_d", np.array(5.0))
    add("empty_1d", np.array([]))
    add("empty_2d", np.zeros((0, 3), dtype=np.int16))
    add("dims_32", np.zeros((1,) * 32, dtype=np.uint8))
    add("three_d_f", np.asfortranarray(np.arange(24, dtype=np.int16).reshape(2, 3, 4)))

    # dtypes
    add("struct_aligned", np.zeros(4, dtype=np.dtype([("a", "u1"), ("b", "<f8"), ("c", "<i2")], align=True)))
    titled = np.zeros(3, dtype=[(("Title A", "a"), "<i4"), ("b", "<f4")])
    titled["a"] = [1, 2, 3]
    add("struct_titled", titled)
    nested = np.zeros(2, dtype=[("n", [("x", "u1"), ("y", "<f4", (2, 3))]), ("z", ">i8")])
    nested["z"] = [7, -8]
    nested["n"]["y"] = np.arange(12, dtype="f4").reshape(2, 2, 3)
    add("struct_nested", nested)
    # headers np.save writes as version 3.0 (not latin-1) and 2.0 (> 64 KiB)
    add("struct_unicode_name", np.zeros(2, dtype=[("\u4e2d", "<i4"), ("b", "u1")]))
    add("struct_many_fields", np.zeros(2, dtype=[("field_%04d" % i, "u1")
                                                 for i in range(3500)]))
    add("struct_titles_any", np.zeros(2, np.dtype(
        {"names": ["a", "b"], "formats": ["<i4", "<f4"], "titles": [5, b"T"]})))
    add("struct_empty", np.zeros(2, np.dtype({"names": [], "formats": [],
                                               "itemsize": 4})))
    add("struct_long_subarray", np.arange(4000, dtype="u1").view(
        [("x", "u1", (2000,))]))
    add("object_strings", np.array(["a\x00b", "caf\u00e9", "\u2028", b"by\x00",
                                    2**70, 1e300, -0.0], dtype=object))
    add("struct_offsets", np.zeros(2, dtype=np.dtype({"names": ["p", "q"], "formats": ["<i4", "<u2"], "offsets": [8, 0], "itemsize": 16})))
    add("big_endian_i4", np.arange(5, dtype=">i4"))
    add("big_endian_f8", np.array([1.5, -2.25, 1e300], dtype=">f8"))
    add("complex128", np.array([1 + 2j, 3 - 4.5j]))
    add("complex64_be", np.array([1 + 2j, -0.5j], dtype=">c8"))
    add("float16", np.array([0.1, 1000, -2.5], dtype=np.float16))
    add("float32", np.array([0.1, 1.0 / 3], dtype=np.float32))
    add("longdouble", np.array([1.5, -0.25], dtype=np.longdouble))
    add("float16_ints", np.array([-23472, 100], dtype=np.float16))
    add("float32_ints", np.array([33554436, 100000], dtype=np.float32))
    add("empty_bool", np.zeros((2, 0), dtype=bool))
    add("empty_struct_wraps", np.zeros((2042, 6, 0), dtype=[
        ("a_long_field_name", "<i4"), ("another_long_field_name", "<f8")]))
    add("float_special", np.array([np.nan, np.inf, -np.inf, -0.0]))
    add("bools", np.array([True, False, True]))
    add("uint64", np.array([0, 2**64 - 1], dtype=np.uint64))
    add("datetime_D", np.array(["2020-01-01", "1969-07-20", "NaT"], dtype="datetime64[D]"))
    add("datetime_ns", np.array(["2021-06-15T12:34:56.789012345"], dtype="datetime64[ns]"))
    add("datetime_10ms", np.array([0, 12345], dtype="datetime64[10ms]"))
    add("datetime_M", np.array(["2001-02", "1999-12"], dtype="datetime64[M]"))
    add("timedelta_s", np.array([1, -2, 3600], dtype="timedelta64[s]"))
    add("unicode", np.array(["abc", "d\u00e9f", "\u4e2d"]))
    add("unicode_be", np.array(["hi", "x"], dtype=">U3"))
    add("bytes_S", np.array([b"ab", b"cde", b""]))
    add("void_V", np.zeros(2, dtype="V4"))
    add("object_array", np.array([1, "two", 3.0, None, True], dtype=object))

    # subclasses
    add("matrix", np.matrix([[1, 2], [3, 4]]))
    mm_path = os.path.join(tmpdir, "memmap.dat")
    mm = add("memmap", np.memmap(mm_path, dtype="f4", mode="w+", shape=(16,)))
    mm[:] = np.arange(16)
    add("memmap_slice", mm[2:6])
    add("recarray", np.rec.array([(1, 2.0), (3, 4.0)], dtype=[("a", "<i4"), ("b", "<f8")]))

    class Sub(np.ndarray):
        pass
    add("python_subclass", np.arange(4).view(Sub))

    # instances too large for pymalloc's blocks: malloc'd, not in pools
    Wide = type("Wide", (np.ndarray,),
                {"__slots__": tuple("s%d" % i for i in range(64))})
    add("wide_subclass", np.arange(3).view(Wide))

    # flags and strides
    ro = np.arange(6)
    ro.setflags(write=False)
    add("readonly", ro)
    add("broadcast", np.broadcast_to(np.arange(3), (4, 3)))
    base = np.arange(16, dtype=np.int32)
    add("as_strided", np.lib.stride_tricks.as_strided(base, shape=(4, 3), strides=(8, 4)))
    add("negative_strides", np.arange(10)[::-1])
    add("negative_2d", np.arange(12).reshape(3, 4)[::-1, ::-2])
    raw = bytes(range(33))
    KEEP.append(raw)
    add("unaligned", np.frombuffer(raw, dtype="<f8", offset=1, count=4))
    add("transposed", np.arange(6, dtype=np.int32).reshape(2, 3).T)
    add("sparse_view", np.arange(200000, dtype=np.int64)[::97])
    add("view_of_view", np.arange(10)[2:][::2][1:])

    # arrays over other owners
    add("memoryview_bytearray", np.frombuffer(memoryview(bytearray(b"abcdefgh")), dtype="u1"))
    ba = bytearray(b"\x01\x02\x03\x04")
    KEEP.append(ba)
    add("bytearray_owner", np.frombuffer(ba, dtype="u1"))
    carr = (ctypes.c_double * 4)(1.0, 2.0, 3.0, 4.0)
    KEEP.append(carr)
    add("ctypes_array", np.ctypeslib.as_array(carr))
    m = mmap.mmap(-1, 4096)
    m.write(b"\x07" * 16)
    KEEP.append(m)
    add("mmap_anon", np.frombuffer(m, dtype="u1", count=16))
    fb = np.frombuffer(b"abcdefgh12345678", dtype="u1")
    add("view_chain", fb[2:][::2])

    global model
    model = Model()
    model.weights = Z["nb_c_order"]
    model.layer = Model()
    model.layer.bias = Z["float32"]
    # 3.11+ keep attributes inline until __dict__ is asked for once
    model.__dict__, model.layer.__dict__
    global inline_model, slotted
    inline_model = Inline()
    inline_model.gone = 1
    inline_model.w = Z["nb_int32"]
    inline_model.layer = Inline()
    inline_model.layer.bias = Z["nb_floats"]
    del inline_model.gone   # a hole in the values
    slotted = Slotted()
    slotted.w = Z["float32"]
    global pair, count, failure
    pair, count, failure = Pair((1, 2, 3)), Count(-2 ** 70), Failure("x")
    pair.arr, count.arr, failure.arr = Z["nb_int64"], Z["nb_int32"], Z["nb_floats"]
    lazy = sys.modules["ndspy_lazy"] = LazyModule("ndspy_lazy")
    lazy.arr = Z["float32"]
    return Z


def tp_name(obj):
    # the type's tp_name itself (offset 24 in PyTypeObject, 3.9-3.15)
    return ctypes.c_char_p.from_address(id(type(obj)) + 24).value.decode()


def lists(v):
    """Tuples to lists, recursively, as JSON has them (NumPy 1.19 names
    the fallback descr field b'': JSON has only text)."""
    if isinstance(v, dict):
        return {k: lists(x) for k, x in v.items()}
    if isinstance(v, (tuple, list)):
        return [lists(x) for x in v]
    if isinstance(v, bytes):
        return v.decode("latin-1")
    return v


def float_value(v):
    # shortest text at the item's own width, as ndspy prints it
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return float(str(v))


def value(v, dt):
    if dt.names is not None:
        return [value(v[n], dt.fields[n][0]) for n in dt.names]
    if dt.subdtype is not None:
        sub, shape = dt.subdtype
        a = np.asarray(v).reshape(shape)
        return lists_of(a, sub)
    k = dt.kind
    if k == "b":
        return bool(v)
    if k in "iu":
        return int(v)
    if k == "f":
        return float_value(dt.type(v))
    if k == "c":
        return [float_value(v.real), float_value(v.imag)]
    if k == "M":
        return "NaT" if np.isnat(v) else str(v)
    if k == "m":
        return "NaT" if np.isnat(v) else int(v.astype("int64"))
    if k == "S":
        return bytes(v).decode("latin-1")
    if k == "U":
        return str(v)
    if k == "V":
        return bytes(v).hex()
    if k == "O":
        if v is None or isinstance(v, (bool, int, str)):
            return v
        if isinstance(v, bytes):
            return v.decode("latin-1")
        if isinstance(v, float):
            return float_value(np.float64(v))
        return {"address": id(v), "type": tp_name(v)}
    raise ValueError(dt)


def lists_of(a, dt):
    if a.ndim == 0:
        return value(a[()], dt)
    return [lists_of(a[i], dt) for i in range(a.shape[0])]


def refcount_offset():
    # what getrefcount adds for an object held once, in this Python
    holder = {"p": object()}
    return sys.getrefcount(holder["p"]) - 1


def truth(a):
    base = []
    b = a.base
    while b is not None and len(base) < 64:
        entry = {"address": id(b), "type": tp_name(b)}
        if isinstance(b, memoryview):
            entry["obj"] = {"address": id(b.obj), "type": tp_name(b.obj)}
        base.append(entry)
        b = b.base if isinstance(b, np.ndarray) else None
    dt = a.dtype
    flat = np.asarray(a).reshape(-1)
    return {
        "address": id(a),
        "type": tp_name(a),
        "ndim": a.ndim,
        "shape": list(a.shape),
        "strides": list(a.strides),
        "size": int(a.size),
        "nbytes": int(a.nbytes),
        "data": a.__array_interface__["data"][0],
        "dtype": {"str": dt.str, "kind": dt.kind, "char": dt.char,
                  "itemsize": dt.itemsize, "alignment": dt.alignment,
                  "byteorder": dt.byteorder, "type_num": dt.num},
        "flags": {f: bool(a.flags[f]) for f in
                  ("C_CONTIGUOUS", "F_CONTIGUOUS", "OWNDATA", "WRITEABLE",
                   "ALIGNED", "WRITEBACKIFCOPY")},
        "array_interface": lists(a.__array_interface__),
        "base": base,
        "values": [value(flat[i], dt) for i in range(min(NVALUES, flat.size))],
        "repr": repr(a),
    }


def evaluate(path):
    """What a path rooted at a module names, as Python reads it: the
    longest prefix that is a module, then the steps."""
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:i]))
        if module is not None:
            return eval("m." + ".".join(parts[i:]), {"m": module})
    raise LookupError("no module starts %r" % path)


def all_subclasses(cls):
    out = []
    for c in cls.__subclasses__():
        out += [c] + all_subclasses(c)
    return out


def main():
    truth_path, save_dir = sys.argv[1], sys.argv[2]
    tmpdir = tempfile.mkdtemp(prefix="ndspy-zoo-")
    build(tmpdir)
    out = {"pid": os.getpid(),
           "python": "%d.%d.%d" % sys.version_info[:3],
           "numpy": np.__version__,
           # pymalloc serves objects (0 under PYTHONMALLOC=malloc)
           "pymalloc": sys.getallocatedblocks() > 0,
           # ndarray types whose objects pymalloc cannot hold
           "large_types": sum(1 for c in [np.ndarray] + all_subclasses(
               np.ndarray) if c.__basicsize__ > 512),
           "objects": {},
           "not_arrays": {"list": id(KEEP), "int": id(NVALUES), "dict": id(Z),
                          "str": id(truth_path)},
           "attributes": {"__main__.model.weights": id(model.weights),
                          "__main__.model.layer.bias": id(model.layer.bias),
                          "__main__.pair.arr": id(pair.arr),
                          "__main__.count.arr": id(count.arr),
                          "__main__.failure.arr": id(failure.arr),
                          "ndspy_lazy.arr": id(Z["float32"])},
           "inline": {"__main__.inline_model.w": id(inline_model.w),
                      "__main__.inline_model.layer.bias":
                          id(inline_model.layer.bias)}}
    for name in Z:
        a = Z[name]
        t = out["objects"][name] = truth(a)
        # what np.save makes of it (it refuses some, so must ndspy)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "format 3.0" notices
                np.save(os.path.join(save_dir, name + ".npy"), a,
                        allow_pickle=False)
            t["saved"] = True
        except ValueError:
            t["saved"] = False
    # refcounts last, with no local names bound to the arrays
    del a, t
    offset = refcount_offset()
    for name in Z:
        out["objects"][name]["refcnt"] = sys.getrefcount(Z[name]) - offset
    with open(truth_path + ".tmp", "w") as f:
        json.dump(out, f)
    os.rename(truth_path + ".tmp", truth_path)
    print("ready", flush=True)
    for line in sys.stdin:   # live until the test closes our stdin
        try:
            print(id(evaluate(line.strip())), flush=True)
        except Exception as e:  # the test reports what went wrong
            print("error: %r" % e, flush=True)


if __name__ == "__main__":
    main()
