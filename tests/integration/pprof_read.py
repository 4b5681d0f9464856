"""A small reader of pprof profiles (gzipped profile.proto), stdlib only,
written from the schema (github.com/google/pprof proto/profile.proto), not
from ndspy's writer: what the suites compare ndspy's --pprof files with.

    from pprof_read import read_profile
    p = read_profile(open("x.pb.gz", "rb").read())
    p.sample_types          [("inuse_space", "bytes"), ...]
    p.samples               [{"values": [...], "frames": [Frame, ...]}]
                            frames innermost first, as the profile lists
                            its locations
    p.totals("inuse_space") per function name, the sum over the samples
                            whose stack passes through it (each sample
                            counted once per function)
"""
import gzip
import zlib


class Malformed(Exception):
    pass


def _varint(buf, pos):
    shift = result = 0
    while True:
        if pos >= len(buf):
            raise Malformed("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise Malformed("varint too long")


def fields(buf):
    """(field number, wire type, value) of each field of a message: an int
    for varints and fixed ones, bytes for length-delimited ones."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, pos = _varint(buf, pos)
        elif wt == 1:
            v, pos = int.from_bytes(buf[pos:pos + 8], "little"), pos + 8
        elif wt == 2:
            n, pos = _varint(buf, pos)
            if pos + n > len(buf):
                raise Malformed("truncated field %d" % num)
            v, pos = bytes(buf[pos:pos + n]), pos + n
        elif wt == 5:
            v, pos = int.from_bytes(buf[pos:pos + 4], "little"), pos + 4
        else:
            raise Malformed("wire type %d" % wt)
        if pos > len(buf):
            raise Malformed("truncated field %d" % num)
        yield num, wt, v


def _ints(wt, v, signed=False):
    """A repeated integer field's values, packed or not."""
    if wt == 2:
        out, pos = [], 0
        while pos < len(v):
            x, pos = _varint(v, pos)
            out.append(x)
    else:
        out = [v]
    if signed:
        out = [x - (1 << 64) if x >= 1 << 63 else x for x in out]
    return out


def _message(buf, ints=(), signed=(), repeated=()):
    """A message as {field: value}: the fields in ints as int lists (or
    one int), those in repeated as lists of bytes."""
    m = {}
    for num, wt, v in fields(buf):
        if num in ints:
            m.setdefault(num, []).extend(_ints(wt, v, num in signed))
        elif num in repeated:
            m.setdefault(num, []).append(v)
        else:
            m[num] = v
    return m


class Frame:
    def __init__(self, function, file, line):
        self.function, self.file, self.line = function, file, line

    def __repr__(self):
        return "%s (%s:%d)" % (self.function, self.file, self.line)


class Profile:
    def __init__(self, raw):
        p = _message(raw, ints=(), repeated=(1, 2, 4, 5, 6))
        strings = [s.decode("utf-8") for s in p.get(6, [])]
        if not strings or strings[0] != "":
            raise Malformed("string_table[0] must be empty")
        self.strings = strings

        def s(i):
            if not 0 <= i < len(strings):
                raise Malformed("string index %d of %d" % (i, len(strings)))
            return strings[i]
        self.sample_types = []
        for vt in p.get(1, []):
            m = _message(vt)
            self.sample_types.append((s(m.get(1, 0)), s(m.get(2, 0))))
        self.functions = {}
        for fb in p.get(5, []):
            m = _message(fb)
            self.functions[m.get(1, 0)] = (s(m.get(2, 0)), s(m.get(4, 0)),
                                           s(m.get(3, 0)))
        if 0 in self.functions:
            raise Malformed("function id 0")
        self.locations = {}
        for lb in p.get(4, []):
            m = _message(lb, repeated=(4,))
            lines = []
            for ln in m.get(4, []):
                lm = _message(ln)
                fid = lm.get(1, 0)
                if fid not in self.functions:
                    raise Malformed("location %d: no function %d"
                                    % (m.get(1, 0), fid))
                name, file, _ = self.functions[fid]
                lines.append(Frame(name, file, lm.get(2, 0)))
            # a location's lines are innermost first (inlined calls)
            self.locations[m.get(1, 0)] = lines
        if 0 in self.locations:
            raise Malformed("location id 0")
        self.samples = []
        for sb in p.get(2, []):
            m = _message(sb, ints=(1, 2), signed=(2,))
            frames = []
            for lid in m.get(1, []):
                if lid not in self.locations:
                    raise Malformed("sample names no location %d" % lid)
                frames.extend(self.locations[lid])
            vals = m.get(2, [])
            if len(vals) != len(self.sample_types):
                raise Malformed("a sample has %d values for %d types"
                                % (len(vals), len(self.sample_types)))
            self.samples.append({"values": vals, "frames": frames})
        self.period_type = None
        if 11 in p:
            m = _message(p[11])
            self.period_type = (s(m.get(1, 0)), s(m.get(2, 0)))
        self.period = p.get(12, 0)
        self.time_nanos = p.get(9, 0)
        self.duration_nanos = p.get(10, 0)
        self.default_sample_type = s(p[14]) if 14 in p else None

    def index(self, kind):
        return [t for t, _ in self.sample_types].index(kind)

    def total(self, kind):
        i = self.index(kind)
        return sum(x["values"][i] for x in self.samples)

    def totals(self, kind):
        """{function name: the kind's sum over the samples through it}."""
        i = self.index(kind)
        out = {}
        for x in self.samples:
            for name in {f.function for f in x["frames"]}:
                out[name] = out.get(name, 0) + x["values"][i]
        return out

    def through(self, kind, function, file=None, line=None):
        """The kind's sum over the samples with a frame of function (at
        file:line, if given)."""
        i = self.index(kind)
        return sum(x["values"][i] for x in self.samples
                   if any(f.function == function and
                          (file is None or f.file == file) and
                          (line is None or f.line == line)
                          for f in x["frames"]))


def read_profile(blob):
    """A Profile from a file's bytes: gzipped (as pprof writes and reads
    it) or not."""
    if blob[:2] == b"\x1f\x8b":
        try:
            blob = gzip.decompress(blob)
        except (OSError, EOFError, zlib.error) as e:
            raise Malformed("bad gzip: %s" % e)
    return Profile(blob)
