"""Offsets that live in C files CPython does not install (ctypes'
CDataObject, mmap's object), found from inside a running interpreter: each
field is where the object's own memory holds a value we know."""
import ctypes
import mmap
import sys


def find(obj, value, limit=160):
    raw = ctypes.string_at(id(obj), limit)
    packed = value.to_bytes(8, "little")
    hits = [o for o in range(16, limit - 7, 8) if raw[o:o + 8] == packed]
    return hits[0] if len(hits) == 1 else -1


c = (ctypes.c_int * 4099)()
print("cdata_ptr", find(c, ctypes.addressof(c)))
print("cdata_size", find(c, ctypes.sizeof(c)))
m = mmap.mmap(-1, 3 * 4096)
view = (ctypes.c_char * 1).from_buffer(m)
data = ctypes.addressof(view)
del view
print("mmap_data", find(m, data))
print("mmap_size", find(m, 3 * 4096))

# a module's dict
print("module_dict", find(ctypes, id(ctypes.__dict__)))


class Plain:
    pass


# where an instance keeps its __dict__ once it has one: after the header
# (tp_dictoffset, 3.9/3.10) or before it (managed dicts, 3.11+)
obj = Plain()
obj.x = 1
d = obj.__dict__
before = ctypes.string_at(id(obj) - 32, 32)
packed = id(d).to_bytes(8, "little")
hits = [o - 32 for o in range(0, 32, 8) if before[o:o + 8] == packed]
after = find(obj, id(d), limit=48)
print("instance_dict", hits[0] if len(hits) == 1 else after)

# where an instance that never had its __dict__ read keeps its attributes
# (3.11+): values[] behind a pointer before the header (3.11), behind a
# tagged pointer in the dict slot (3.12), or right after the object (3.13+)
obj = Plain()
marker = object()
obj.x = marker
want = id(marker).to_bytes(8, "little")


def word(addr):
    return int.from_bytes(ctypes.string_at(addr, 8), "little")


repr_, at = 0, 0                     # ND_VALUES_NONE: 3.9, 3.10
ptr = tagged = 0
if sys.version_info >= (3, 11):      # before: no pre-header to look at
    ptr, tagged = word(id(obj) - 32), word(id(obj) - 24)
basic = type(obj).__basicsize__
if ptr and ptr % 8 == 0 and ctypes.string_at(ptr, 8) == want:
    repr_, at = 1, -32               # ND_VALUES_PTR
elif tagged & 1 and ctypes.string_at(tagged + 1, 8) == want:
    repr_, at = 2, -24               # ND_VALUES_TAGGED
elif sys.version_info >= (3, 11) and \
        ctypes.string_at(id(obj) + basic + 8, 8) == want:
    repr_, at = 3, 0                 # ND_VALUES_INLINE, at tp_basicsize
print("values_repr", repr_)
print("instance_values", at)
