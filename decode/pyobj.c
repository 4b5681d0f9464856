#include "pyobj.h"

#include "buf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MAX_REFCNT (1ULL << 48) /* beyond any real (or immortal) count */

/* The reference count a header says (0: none). Free-threaded builds split
 * it between the owning thread's count and everyone else's. */
static uint64_t header_refcnt(const struct nd_pylayout *P,
			      const unsigned char *h)
{
	if (!P->free_threaded) {
		uint64_t n = nd_u64_at(h, 0);
		return P->refcnt_bits == 32 ? n & 0xffffffffu : n;
	}
	uint32_t local;
	int64_t shared;
	memcpy(&local, h + P->ob_ref_local, 4);
	memcpy(&shared, h + P->ob_ref_shared, 8);
	if (local == UINT32_MAX)
		return local; /* immortal */
	int64_t n = (int64_t)local + (shared >> 2);
	if (n > 0)
		return (uint64_t)n;
	/* another thread gave up references the owner still counts: it is
	 * queued for the owner to merge, and whole until then. A merged
	 * count of 0 (shared _Py_REF_MERGED, local 0) was freed. */
	return local > 0 && shared < 0 ? 1 : 0;
}

int nd_py_header(struct nd_ctx *c, uint64_t obj, int64_t *refcnt,
		 uint64_t *type, struct nd_err *e)
{
	unsigned char h[ND_PYHEADER_MAX];
	const struct nd_pylayout *P = c->py;

	if (obj % 8)
		return nd_fail(e, ND_ENOTARRAY,
			       "0x%" PRIx64 " is not aligned like a Python object",
			       obj);
	int rc = nd_read(c, obj, h, (size_t)nd_header_size(P), e,
			 "object header");
	if (rc)
		return rc;
	uint64_t n = header_refcnt(P, h);
	if (n == 0 || n >= MAX_REFCNT)
		return nd_fail(e, ND_ECORRUPT,
			       "0x%" PRIx64 ": refcount %" PRId64
			       " is not that of a live object",
			       obj, (int64_t)n);
	uint64_t t = nd_u64_at(h, (size_t)P->ob_type);
	if (t == 0 || t % 8)
		return nd_fail(e, ND_ECORRUPT,
			       "0x%" PRIx64 ": type pointer 0x%" PRIx64
			       " is not that of a live object",
			       obj, t);
	if (refcnt)
		*refcnt = (int64_t)n;
	*type = t;
	return 0;
}

/* Validates a type object once and remembers its name. */
static int type_entry(struct nd_ctx *c, uint64_t type,
		      struct nd_typecache_entry **out, struct nd_err *e)
{
	struct nd_typecache_entry *t = &c->tc[(type >> 3) % ND_TYPECACHE];
	uint64_t meta, meta_flags, name_ptr;

	if (t->type == type) {
		*out = t;
		return 0;
	}
	if (type % 8)
		return nd_fail(e, ND_ECORRUPT,
			       "type pointer 0x%" PRIx64 " is misaligned", type);
	int rc = nd_py_header(c, type, NULL, &meta, e);
	if (rc)
		return rc;
	rc = nd_read_u64(c, meta + (uint64_t)c->py->tp_flags, &meta_flags, e,
			 "metatype flags");
	if (rc)
		return rc;
	/* the metatype is type or derives from it (a metaclass): garbage
	 * whose "metatype" merely has the flag bit set is not a type */
	bool meta_ok = meta_flags & ND_TPFLAGS_TYPE;
	if (meta_ok && c->type_type && meta != c->type_type) {
		struct nd_err ignored = {0};
		if (nd_py_is_subtype(c, meta, c->type_type, &meta_ok,
				     &ignored))
			meta_ok = false;
	}
	if (!meta_ok)
		return nd_fail(e, ND_ECORRUPT,
			       "0x%" PRIx64 " is not a type object", type);
	rc = nd_read_u64(c, type + (uint64_t)c->py->tp_name, &name_ptr, e,
			 "tp_name");
	if (rc)
		return rc;
	t->type = 0;
	struct nd_err local = {0};
	rc = nd_read_cstr(c, name_ptr, t->name, sizeof(t->name), &local,
			  "type name");
	/* a long class name is still a name: keep its start */
	if (rc && local.code != ND_ELIMIT)
		return nd_fail(e, local.code, "%s", local.msg);
	/* no type is named with control characters, invalid UTF-8 or
	 * nothing; garbage that looks like a type often points tp_name at a
	 * docstring or at code. A name cut at our cap may end mid-character. */
	size_t len = strlen(t->name);
	size_t valid = nd_utf8_valid_prefix(t->name, len);
	bool name_ok = len > 0 && (valid == len || (rc && len - valid < 4));
	for (size_t i = 0; i < len && name_ok; i++)
		name_ok = (unsigned char)t->name[i] >= 0x20 &&
			  t->name[i] != 0x7f;
	if (!name_ok)
		return nd_fail(e, ND_ECORRUPT,
			       "0x%" PRIx64 " is not a type object "
			       "(its name is not one)",
			       type);
	t->type = type;
	*out = t;
	return 0;
}

int nd_py_type_name(struct nd_ctx *c, uint64_t type, const char **name,
		    struct nd_err *e)
{
	struct nd_typecache_entry *t = NULL;
	int rc = type_entry(c, type, &t, e);

	if (rc == 0)
		*name = t->name;
	return rc;
}

int nd_py_type_flags(struct nd_ctx *c, uint64_t type, uint64_t *flags,
		     struct nd_err *e)
{
	return nd_read_u64(c, type + (uint64_t)c->py->tp_flags, flags, e,
			   "tp_flags");
}

int nd_py_is_subtype(struct nd_ctx *c, uint64_t type, uint64_t base,
		     bool *yes, struct nd_err *e)
{
	/* Real hierarchies are a few levels deep; a longer walk is a loop. */
	for (int depth = 0; depth < 64 && type; depth++) {
		if (type == base) {
			*yes = true;
			return 0;
		}
		int rc = nd_read_u64(c, type + (uint64_t)c->py->tp_base, &type,
				     e, "tp_base");
		if (rc)
			return rc;
	}
	*yes = false;
	return 0;
}

void nd_py_describe(struct nd_ctx *c, uint64_t obj, char *out, size_t cap)
{
	uint64_t type;
	const char *name;

	out[0] = '\0';
	if (nd_py_header(c, obj, NULL, &type, NULL) == 0 &&
	    nd_py_type_name(c, type, &name, NULL) == 0)
		snprintf(out, cap, "%s", name);
}

bool nd_py_is_none(struct nd_ctx *c, uint64_t obj)
{
	uint64_t type;
	const char *name;

	return nd_py_header(c, obj, NULL, &type, NULL) == 0 &&
	       nd_py_type_name(c, type, &name, NULL) == 0 &&
	       strcmp(name, "NoneType") == 0;
}

/* Sign and count of 30-bit digits of a Python int. Unsigned arithmetic:
 * any value from memory, INT64_MIN included, stays defined. */
static int long_head(struct nd_ctx *c, uint64_t obj, bool *neg,
		     uint64_t *ndigits, struct nd_err *e)
{
	uint64_t head;
	int rc = nd_read(c, obj + (uint64_t)c->py->ob_size, &head,
			 sizeof(head), e, "int size");

	if (rc)
		return rc;
	if (c->py->long_repr == ND_LONG_OB_SIZE) {
		/* <= 3.11: sign and magnitude in ob_size */
		*neg = (int64_t)head < 0;
		*ndigits = *neg ? 0 - head : head;
		return 0;
	}
	/* >= 3.12: lv_tag, sign in the low bits (3 is not a sign) */
	if ((head & 3) == 3)
		return nd_fail(e, ND_ECORRUPT, "int at 0x%" PRIx64 ": bad sign",
			       obj);
	*neg = (head & 3) == 2;
	*ndigits = head >> 3;
	return 0;
}

/* An int too big for int64 in decimal, for printing: its 30-bit digits
 * divided down by 10^9 (at most 300 digits: 9000 bits, 2710 decimals). */
static int big_decimal(struct nd_ctx *c, uint64_t obj, char *out, size_t cap,
		       size_t *len)
{
	uint64_t n;
	uint32_t d[300];
	char rev[2720];
	size_t o = 0;
	bool neg;

	if (long_head(c, obj, &neg, &n, NULL) ||
	    n == 0 || n > 300 || sizeof(rev) + 2 > cap ||
	    nd_read(c, obj + (uint64_t)c->py->long_digits, d, n * 4, NULL,
		    "int digits"))
		return -1;
	while (n) {
		/* d /= 10^9, remainder into nine decimal digits */
		uint64_t rem = 0;
		for (uint64_t i = n; i-- > 0;) {
			uint64_t cur = (rem << 30) | (d[i] & 0x3fffffff);
			d[i] = (uint32_t)(cur / 1000000000u);
			rem = cur % 1000000000u;
		}
		while (n && d[n - 1] == 0)
			n--;
		for (int k = 0; k < 9 && (n || rem); k++) {
			rev[o++] = (char)('0' + rem % 10);
			rem /= 10;
		}
	}
	if (o == 0)
		rev[o++] = '0'; /* digits all zero: not normalised, but 0 */
	if (o + 2 > cap)
		return -1;
	size_t w = 0;
	if (neg)
		out[w++] = '-';
	while (o)
		out[w++] = rev[--o];
	out[w] = '\0';
	*len = w;
	return 0;
}

void nd_py_value(struct nd_ctx *c, uint64_t obj, struct nd_pyvalue *out)
{
	struct nd_pyscalar *v = &out->v;
	uint64_t type;
	const char *name;

	memset(v, 0, sizeof(*v));
	v->kind = ND_PY_UNREADABLE;
	if (!obj || nd_py_header(c, obj, NULL, &type, NULL) ||
	    nd_py_type_name(c, type, &name, NULL))
		return;
	/* a copy: the type cache may reuse its slot */
	snprintf(out->type, sizeof(out->type), "%s", name);
	v->type = out->type;
	v->kind = ND_PY_OTHER;
	if (strcmp(name, "NoneType") == 0)
		v->kind = ND_PY_NONE;
	else if (strcmp(name, "bool") == 0 && !nd_py_long(c, obj, &v->i, NULL))
		v->kind = ND_PY_BOOL;
	else if (strcmp(name, "int") == 0 && !nd_py_long(c, obj, &v->i, NULL))
		v->kind = ND_PY_INT;
	else if (strcmp(name, "int") == 0 &&
		 !big_decimal(c, obj, out->s, sizeof(out->s), &v->slen)) {
		v->kind = ND_PY_BIGINT;
		v->s = out->s;
	}
	else if (strcmp(name, "float") == 0 && !nd_py_float(c, obj, &v->f, NULL))
		v->kind = ND_PY_FLOAT;
	else if (strcmp(name, "str") == 0 &&
		 !nd_py_str(c, obj, out->s, sizeof(out->s), &v->slen, NULL)) {
		v->kind = ND_PY_STR;
		v->s = out->s;
	} else if (strcmp(name, "bytes") == 0 &&
		   !nd_py_bytes(c, obj, out->s, sizeof(out->s), &v->slen, NULL)) {
		v->kind = ND_PY_BYTES;
		v->s = out->s;
	}
}

int nd_py_check_kind(struct nd_ctx *c, uint64_t obj, uint64_t flag,
		     const char *kind, struct nd_err *e)
{
	uint64_t type, flags;
	int rc = nd_py_header(c, obj, NULL, &type, e);

	if (rc)
		return rc;
	rc = nd_py_type_flags(c, type, &flags, e);
	if (rc)
		return rc;
	if (!(flags & flag)) {
		char tn[96];
		nd_py_describe(c, obj, tn, sizeof(tn));
		return nd_fail(e, ND_ECORRUPT,
			       "0x%" PRIx64 ": expected a %s, found %s", obj,
			       kind, tn[0] ? tn : "an unreadable object");
	}
	return 0;
}

int nd_py_tuple(struct nd_ctx *c, uint64_t obj, uint64_t *items, size_t max,
		size_t *n, struct nd_err *e)
{
	int64_t size;
	int rc = nd_py_check_kind(c, obj, ND_TPFLAGS_TUPLE, "tuple", e);

	if (rc)
		return rc;
	rc = nd_read(c, obj + (uint64_t)c->py->ob_size, &size, sizeof(size),
		     e, "tuple size");
	if (rc)
		return rc;
	if (size < 0 || (uint64_t)size > max)
		return nd_fail(e, size < 0 ? ND_ECORRUPT : ND_ELIMIT,
			       "tuple at 0x%" PRIx64 ": %" PRId64
			       " items (at most %zu accepted)",
			       obj, size, max);
	rc = nd_read(c, obj + (uint64_t)c->py->tuple_item, items,
		     (size_t)size * sizeof(uint64_t), e, "tuple items");
	if (rc)
		return rc;
	*n = (size_t)size;
	return 0;
}

int nd_py_mro(struct nd_ctx *c, uint64_t type, uint64_t *out, size_t *n)
{
	uint64_t mro;

	*n = 0;
	if (nd_read_u64(c, type + (uint64_t)c->py->tp_mro, &mro, NULL,
			"tp_mro") || !mro)
		return -1;
	return nd_py_tuple(c, mro, out, ND_MAX_MRO, n, NULL);
}

int nd_py_long(struct nd_ctx *c, uint64_t obj, int64_t *v, struct nd_err *e)
{
	uint64_t ndigits;
	uint32_t digits[3] = {0};
	bool neg;
	int rc = nd_py_check_kind(c, obj, ND_TPFLAGS_LONG, "int", e);

	if (rc || (rc = long_head(c, obj, &neg, &ndigits, e)))
		return rc;
	/* 30-bit digits: three hold 90 bits, enough to detect int64 overflow */
	if (ndigits > 3)
		return nd_fail(e, ND_ELIMIT,
			       "int at 0x%" PRIx64 " does not fit in 64 bits", obj);
	rc = nd_read(c, obj + (uint64_t)c->py->long_digits, digits,
		     (size_t)ndigits * 4, e, "int digits");
	if (rc)
		return rc;
	unsigned __int128 mag = 0;
	for (uint64_t i = ndigits; i-- > 0;)
		mag = (mag << 30) | (digits[i] & 0x3fffffffu);
	if (mag > ((unsigned __int128)INT64_MAX + (neg ? 1 : 0)))
		return nd_fail(e, ND_ELIMIT,
			       "int at 0x%" PRIx64 " does not fit in 64 bits", obj);
	*v = neg ? (int64_t)(0 - (uint64_t)mag) : (int64_t)mag;
	return 0;
}

int nd_py_float(struct nd_ctx *c, uint64_t obj, double *v, struct nd_err *e)
{
	return nd_read(c, obj + (uint64_t)c->py->float_fval, v, sizeof(*v), e,
		       "float value");
}

int nd_py_bytes(struct nd_ctx *c, uint64_t obj, void *out, size_t cap,
		size_t *len, struct nd_err *e)
{
	int64_t n;
	int rc = nd_py_check_kind(c, obj, ND_TPFLAGS_BYTES, "bytes", e);

	if (rc || (rc = nd_read(c, obj + (uint64_t)c->py->ob_size, &n, 8, e,
				"bytes size")))
		return rc;
	if (n < 0 || (uint64_t)n > cap)
		return nd_fail(e, n < 0 ? ND_ECORRUPT : ND_ELIMIT,
			       "bytes at 0x%" PRIx64 ": %" PRId64
			       " bytes is more than accepted",
			       obj, n);
	*len = (size_t)n;
	return nd_read(c, obj + (uint64_t)c->py->bytes_sval, out, (size_t)n, e,
		       "bytes");
}

int nd_py_str(struct nd_ctx *c, uint64_t obj, char *out, size_t cap,
	      size_t *len, struct nd_err *e)
{
	const struct nd_pylayout *P = c->py;
	/* length (first after the header), hash, then state */
	unsigned char h[32];
	unsigned char raw[1024];
	int rc = nd_py_check_kind(c, obj, ND_TPFLAGS_UNICODE, "str", e);
	int span = P->str_state + 4 - P->ob_size;

	if (rc)
		return rc;
	if (span < 12 || span > (int)sizeof(h))
		return nd_fail(e, ND_EUNSUPPORTED, "str state at %d is not "
			       "where ndspy reads it", P->str_state);
	rc = nd_read(c, obj + (uint64_t)P->ob_size, h, (size_t)span, e,
		     "str header");
	if (rc)
		return rc;
	int64_t length = (int64_t)nd_u64_at(h, 0);
	uint32_t state;
	memcpy(&state, h + span - 4, 4);
	state >>= P->str_kind_shift;
	unsigned kind = state & 7;
	bool compact = (state >> 3) & 1, ascii = (state >> 4) & 1;
	if (!compact)
		return nd_fail(e, ND_EUNSUPPORTED,
			       "str at 0x%" PRIx64 " uses the legacy layout", obj);
	if ((kind != 1 && kind != 2 && kind != 4) || (ascii && kind != 1) ||
	    length < 0)
		return nd_fail(e, ND_ECORRUPT, "str at 0x%" PRIx64 ": bad header",
			       obj);
	/* Each code point takes at least one byte: refuse before reading. */
	if ((uint64_t)length > cap - 1)
		return nd_fail(e, ND_ELIMIT,
			       "str at 0x%" PRIx64 ": %" PRId64
			       " characters is longer than accepted",
			       obj, length);
	uint64_t data = obj + (uint64_t)(ascii ? c->py->str_ascii_data
					       : c->py->str_compact_data);
	size_t o = 0;
	for (int64_t done = 0; done < length;) {
		size_t n = sizeof(raw) / kind;
		if ((int64_t)n > length - done)
			n = (size_t)(length - done);
		rc = nd_read(c, data + (uint64_t)done * kind, raw, n * kind, e,
			     "str data");
		if (rc)
			return rc;
		for (size_t i = 0; i < n; i++) {
			uint32_t cp;
			if (kind == 1)
				cp = raw[i];
			else if (kind == 2)
				cp = (uint32_t)raw[2 * i] |
				     (uint32_t)raw[2 * i + 1] << 8;
			else
				memcpy(&cp, raw + 4 * i, 4);
			char enc[4];
			size_t k = nd_utf8_encode(enc, cp);
			if (o + k > cap - 1)
				return nd_fail(e, ND_ELIMIT,
					       "str at 0x%" PRIx64
					       " is longer than %zu bytes",
					       obj, cap - 1);
			memcpy(out + o, enc, k);
			o += k;
		}
		done += (int64_t)n;
	}
	out[o] = '\0';
	if (len)
		*len = o;
	return 0;
}
