"""Derives ndspy's layout tables (decode/layout_data.h) from the real thing:
each CPython and NumPy version's own headers (offsetof probes, compiled
against them) and, for the few structs no header installs, a probe run in
the interpreter itself.

    derive.py --write [ROOT...]   rewrite decode/layout_data.h
    derive.py --check [ROOT...]   compare (TAP), for make check

Sources: the host's /usr/include/python3.X, pyenv builds under
/root/.pyenv/versions (CPython only), and each ROOT given (a Debian chroot,
see tests/matrix/chroot.sh). Every version seen in several sources must
derive the same values; --check compares what can be derived here with
the committed table, --write needs every supported version."""
import glob
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, "decode", "layout_data.h")
# (3, minor, free-threaded): every GIL build, and the free-threaded one
# this machine can build (tests/matrix/freethreaded.sh)
PYTHONS = [(3, m, 0) for m in range(9, 16)] + [(3, 13, 1)]
NUMPYS = [1, 2]
PY_FIELDS = [
    "ob_type", "refcnt_bits", "ob_ref_local", "ob_ref_shared", "tp_name",
    "tp_basicsize", "tp_flags", "tp_base",
    "tp_mro", "tuple_item", "long_repr", "long_digits", "float_fval",
    "str_state", "str_kind_shift", "str_ascii_data", "str_compact_data",
    "bytes_sval",
    "bytearray_bytes", "bytearray_start", "mview_buf", "mview_obj",
    "mview_len", "mmap_data", "mmap_size", "cdata_ptr", "cdata_size",
    "dict_repr", "dict_used", "dict_keys", "dict_values",
    "dict_split_values", "dk_size", "dk_log2_index_bytes", "dk_kind",
    "dk_nentries", "dk_indices", "dk_entry_size", "dk_unicode_entry_size",
    "dbg_version", "dbg_free_threaded", "dbg_ob_type", "dbg_tp_name", "dbg_tp_flags", "dbg_tuple_item",
    "dbg_dict_keys", "dbg_dict_values", "dbg_float_fval", "dbg_long_digits",
    "dbg_bytes_sval", "dbg_str_state", "dbg_str_ascii_size",
    "tp_subclasses", "tp_dictoffset", "weakref_object",
    "tpflags_managed_dict", "rt_interpreters_head", "rt_interpreters_main",
    "interp_next", "interp_id", "interp_modules",
    "module_dict", "instance_dict", "tpflags_inline_values",
    "ht_cached_keys", "values_repr", "instance_values", "dv_capacity",
    "dv_valid", "tp_itemsize", "ob_size",
    "interp_threads_head", "ts_next", "ts_thread_id", "ts_frame",
    "cframe_current_frame", "frame_repr", "fr_back", "fr_code",
    "fr_code_tag_bits", "fr_instr", "fr_is_entry", "fr_owner",
    "owner_cstack", "owner_interpreter", "co_filename", "co_name",
    "co_qualname", "co_firstlineno", "co_linetable", "co_code_adaptive",
    "co_firsttraceable",
    "dbg_interp_threads_head", "dbg_ts_next", "dbg_ts_thread_id",
    "dbg_ts_frame", "dbg_fr_back", "dbg_fr_code", "dbg_fr_instr",
    "dbg_fr_owner", "dbg_co_filename", "dbg_co_name", "dbg_co_qualname",
    "dbg_co_linetable", "dbg_co_firstlineno", "dbg_co_code_adaptive",
    "dbg_rt_interpreters_head", "dbg_interp_next", "dbg_interp_id",
    "dbg_interp_modules", "dbg_fr_localsplus", "dbg_co_localsplusnames",
    "dbg_ob_size", "dbg_list_items", "dbg_set_table", "dbg_set_mask",
    "dbg_gen_frame", "dbg_tp_basicsize", "dbg_tp_dictoffset",
    "dbg_ht_cached_keys",
    "om_state", "om_state_ptr", "om_arenas", "om_maxarenas", "om_pool_bits",
    "om_arena_bits", "om_arena_object", "om_pool_header",
    "list_items", "set_mask", "set_table", "set_entry", "cell_ref",
    "fn_defaults", "fn_kwdefaults", "tp_members", "member_name", "member_type",
    "member_offset", "member_size", "tp_getset", "getset_get",
    "getset_size", "co_localsplusnames", "co_varnames",
    "co_cellvars", "co_freevars", "fr_localsplus", "fr_locals", "gen_frame",
    "gen_frame_embedded",
]
NP_FIELDS = [
    "maxdims", "arr_data", "arr_nd", "arr_dims", "arr_strides", "arr_base",
    "arr_descr", "arr_flags", "d_typeobj", "d_kind", "d_type",
    "d_byteorder", "d_type_num", "d_flags", "d_flags_size", "d_elsize",
    "d_elsize_size", "d_alignment", "d_alignment_size", "d_metadata",
    "d_subarray", "d_fields", "d_names", "d_c_metadata", "d_basicsize",
    "legacy_type_num_end", "dt_meta_base", "dt_meta_num",
]
ENUMS = {"long_repr": ["ND_LONG_OB_SIZE", "ND_LONG_LV_TAG"],
         "dict_repr": ["ND_DICT_39", "ND_DICT_311"],
         "values_repr": ["ND_VALUES_NONE", "ND_VALUES_PTR",
                         "ND_VALUES_TAGGED", "ND_VALUES_INLINE"],
         "frame_repr": ["ND_FRAME_OBJECT", "ND_FRAME_INTERP"]}
# 3.9 and 3.10 keep the dict keys table in Objects/dict-common.h, which is
# not installed: these come from those releases' sources, and the live
# suites check them (every structured dtype is found through a dict).
OLD_DICT = {"dict_repr": 0, "dict_split_values": 0, "dk_size": 8,
            "dk_log2_index_bytes": -1, "dk_kind": -1, "dk_nentries": 32,
            "dk_indices": 40, "dk_entry_size": 24,
            "dk_unicode_entry_size": 24, "dv_capacity": -1, "dv_valid": -1}
# Before 3.12 pymalloc's state is static in Objects/obmalloc.c (found
# through _Py_GetAllocatedBlocks, see agent/pymalloc.c) and its sizes are
# that file's macros: 4 KiB pools in 256 KiB arenas in 3.9, 16 KiB pools in
# 1 MiB arenas from 3.10 (64-bit, radix tree on); struct arena_object
# (address, pool_address, nfreepools, ntotalpools, freepools, nextarena,
# prevarena) and the pool header are the same as 3.12's.
OLD_OBMALLOC = {"om_state": -1, "om_state_ptr": 0, "om_arenas": -1,
                "om_maxarenas": -1, "om_arena_object": 48,
                "om_pool_header": 48}
OLD_POOLS = {(3, 9): (12, 18), (3, 10): (14, 20), (3, 11): (14, 20)}
NO_DEBUG = {f: 0 for f in PY_FIELDS if f.startswith("dbg_")}


class Source:
    """One Python (and maybe NumPy) to derive from."""

    def __init__(self, label, root, include, python):
        self.label, self.root = label, root
        self.include = include       # .../include/python3.X
        self.python = python         # command running that interpreter
        m = re.search(r"python3\.(\d+)(t?)$", include)
        self.version = (3, int(m.group(1)), int(bool(m.group(2)))) \
            if m else None

    def run(self, *args):
        return subprocess.run(self.python + list(args), capture_output=True,
                              text=True, timeout=60)


def sources(roots):
    found = []
    for root in [""] + list(roots):
        for inc in sorted(glob.glob(root + "/usr/include/python3.*")):
            if not os.path.exists(inc + "/Python.h"):
                continue
            exe = "/usr/bin/" + os.path.basename(inc)
            python = (["chroot", root, exe] if root else [exe])
            label = os.path.basename(root) if root else "host"
            found.append(Source(label, root, inc, python))
        # a CPython built from source into the root's /opt/NAME
        for inc in sorted(glob.glob(root + "/opt/*/include/python3.*")):
            exe = os.path.dirname(os.path.dirname(inc)) + "/bin/" + \
                os.path.basename(inc)
            if os.path.exists(inc + "/Python.h") and os.path.exists(exe):
                python = ["chroot", root, exe[len(root):]] if root else [exe]
                found.append(Source(os.path.basename(root) or "host", root,
                                    inc, python))
    for inc in sorted(glob.glob("/root/.pyenv/versions/*/include/python3.*")):
        ver = inc.split("/")[4]
        exe = "/root/.pyenv/versions/%s/bin/%s" % (ver, os.path.basename(inc))
        if os.path.exists(inc + "/Python.h") and os.path.exists(exe):
            found.append(Source("pyenv " + ver, "", inc, [exe]))
    return [s for s in found if s.version in PYTHONS]


def compile_run(src, probe, extra=()):
    """Compiles tests/layout/PROBE against src's headers and runs it."""
    with tempfile.TemporaryDirectory() as tmp:
        # Debian's pyconfig.h includes <x86_64-linux-gnu/python3.X/...>:
        # a shim directory resolves it inside the source's root
        arch = glob.glob(src.root + "/usr/include/*-linux-gnu/" +
                         os.path.basename(src.include))
        flags = ["-I" + src.include]
        if arch:
            shim = os.path.join(tmp, os.path.basename(os.path.dirname(arch[0])))
            os.makedirs(shim)
            os.symlink(arch[0], os.path.join(shim,
                                             os.path.basename(src.include)))
            flags.append("-I" + tmp)
        exe = os.path.join(tmp, "probe")
        cc = subprocess.run(["gcc", "-w", "-o", exe, os.path.join(HERE, probe)]
                            + flags + list(extra), capture_output=True,
                            text=True)
        if cc.returncode:
            raise RuntimeError("%s: %s does not build: %s" %
                               (src.label, probe, cc.stderr[-600:]))
        out = subprocess.run([exe], capture_output=True, text=True).stdout
    return parse_pairs(out)


def parse_pairs(text):
    return {k: int(v) for k, v in
            (line.split() for line in text.splitlines() if line.strip())}


def derive_python(src):
    row = compile_run(src, "probe_py.c")
    row.update(compile_run(src, "probe_interp.c"))
    row.update(compile_run(src, "probe_frame.c"))
    row.update(compile_run(src, "probe_refs.c"))
    if src.version >= (3, 11):
        row.update(compile_run(src, "probe_core.c"))
        row["dict_repr"] = 1
    else:
        row.update(OLD_DICT)
    if src.version >= (3, 12):
        row.update(compile_run(src, "probe_obmalloc.c"))
    else:
        row.update(OLD_OBMALLOC)
        row["om_pool_bits"], row["om_arena_bits"] = OLD_POOLS[src.version[:2]]
    for f, v in NO_DEBUG.items():
        row.setdefault(f, v)
    rt = src.run(os.path.join(HERE, "probe_rt.py") if not src.root else
                 copy_into(src.root, "probe_rt.py"))
    if rt.returncode:
        raise RuntimeError("%s: probe_rt.py: %s" % (src.label, rt.stderr))
    row.update(parse_pairs(rt.stdout))
    return row


def copy_into(root, name):
    """A probe script placed inside a chroot; returns its path there."""
    dest = os.path.join(root, "tmp", "ndspy-" + name)
    with open(os.path.join(HERE, name)) as f, open(dest, "w") as g:
        g.write(f.read())
    return dest[len(root):]


def derive_numpy(src):
    r = src.run("-c", "import numpy; print(numpy.get_include())")
    if r.returncode:
        return None
    inc = src.root + r.stdout.strip()
    row = compile_run(src, "probe_np.c", ["-I" + inc])
    return row.pop("major"), row


def derive_all(roots):
    """{(3, 9): (row, [labels])}, {1: (row, [labels])}, [problems]."""
    py, np, problems = {}, {}, []
    for src in sources(roots):
        try:
            row = derive_python(src)
            _merge(py, src.version, row, src.label, problems)
            got = derive_numpy(src)
            if got:
                _merge(np, got[0], got[1], src.label + " NumPy", problems)
        except (RuntimeError, subprocess.SubprocessError, OSError) as e:
            problems.append(str(e))
    return py, np, problems


def _merge(table, key, row, label, problems):
    if key not in table:
        table[key] = (row, [label])
        return
    old, labels = table[key]
    diff = {k: (old.get(k), v) for k, v in row.items() if old.get(k) != v}
    if diff:
        problems.append("%s and %s disagree on %s: %s" %
                        (labels[0], label, key, diff))
    labels.append(label)


def render(py, np):
    def cell(f, v):
        return "." + f + " = " + (ENUMS[f][v] if f in ENUMS else str(v))

    lines = [
        "/* Generated by tests/layout/derive.py from each version's own",
        " * headers (offsetof probes) and, for ctypes and mmap objects, from",
        " * the interpreter itself. Do not edit: run `make layouts`. */",
        "",
        "static const struct nd_pylayout py_layouts[] = {",
    ]
    for key in PYTHONS:
        row = py[key][0]
        lines.append("\t{.major = %d, .minor = %d, .free_threaded = %d, %s},"
                     % (key + (", ".join(cell(f, row[f])
                                         for f in PY_FIELDS),)))
    lines += ["};", "", "static const struct nd_nplayout np_layouts[] = {"]
    for key in NUMPYS:
        row = np[key][0]
        lines.append("\t{.major = %d, %s}," % (
            key, ", ".join(cell(f, row[f]) for f in NP_FIELDS)))
    lines += ["};", ""]
    return "\n".join(lines)


def committed():
    """Rows of the committed table, parsed back."""
    py, np = {}, {}
    with open(DATA) as f:
        for line in f:
            cells = dict(re.findall(r"\.(\w+) = (-?\w+)", line))
            if not cells:
                continue
            row = {}
            for k, v in cells.items():
                row[k] = ENUMS[k].index(v) if k in ENUMS else int(v)
            if "minor" in row:
                py[(row.pop("major"), row.pop("minor"),
                    row.pop("free_threaded"))] = row
            else:
                np[row.pop("major")] = row
    return py, np


def version_name(key):
    return "%d.%d%s" % (key[0], key[1], "t" if key[2] else "")


def check(roots):
    py, np, problems = derive_all(roots)
    cpy, cnp = committed()
    n = failed = 0
    for kind, derived, table in (("Python", py, cpy), ("NumPy", np, cnp)):
        for key, (row, labels) in sorted(derived.items()):
            n += 1
            want = table.get(key, {})
            diff = {k: (want.get(k), v) for k, v in row.items()
                    if want.get(k) != v}
            failed += bool(diff)
            name = "%s %s layout, derived from %s" % (
                kind, version_name(key) if isinstance(key, tuple)
                else "%d.x" % key, ", ".join(labels))
            print("%s %d - layout: %s" % ("not ok" if diff else "ok", n, name))
            for k, (c, d) in sorted(diff.items()):
                print("#   %s: table says %s, headers say %s" % (k, c, d))
    for p in problems:
        n += 1
        failed += 1
        print("not ok %d - layout: %s" % (n, p))
    for key in PYTHONS:
        if key not in py:
            n += 1
            print("ok %d - layout: Python %s # SKIP no headers of it here"
                  % (n, version_name(key)))
    print("1..%d" % n)
    return 1 if failed else 0


def main():
    args = sys.argv[1:]
    if not args or args[0] not in ("--write", "--check"):
        sys.exit(__doc__)
    roots = args[1:]
    if args[0] == "--check":
        sys.exit(check(roots))
    py, np, problems = derive_all(roots)
    missing = [k for k in PYTHONS if k not in py] + \
        [k for k in NUMPYS if k not in np]
    if problems or missing:
        sys.exit("cannot write: %s%s" % ("; ".join(problems),
                 " missing %s" % missing if missing else ""))
    with open(DATA, "w") as f:
        f.write(render(py, np))
    print("wrote", DATA)


if __name__ == "__main__":
    main()
