/* CPython dicts: combined and split tables (3.9-3.10's and 3.11+'s keys
 * layouts, unicode-only keys), and split values without their dict. */
#include "pydict.h"

#include <inttypes.h>
#include <string.h>

#include "pyobj.h"

struct dict_shape {
	uint64_t entries;  /* address of the first entry */
	uint64_t values;   /* split table values[], or 0 */
	int64_t nentries;
	int entry_size;    /* 24: hash, key, value; 16: key, value */
	int key_off;
};

/* The entries of a keys table; values stay the caller's. */
static int keys_shape(struct nd_ctx *c, uint64_t keys, struct dict_shape *d,
		      struct nd_err *e)
{
	const struct nd_pylayout *P = c->py;
	unsigned char k[64];
	int64_t nentries;
	int rc = nd_read(c, keys, k, (size_t)P->dk_indices, e,
			 "dict keys header");

	if (rc)
		return rc;
	memcpy(&nentries, k + P->dk_nentries, 8);
	uint64_t size, index_bytes;
	bool unicode = false;
	if (P->dict_repr == ND_DICT_39) {
		int64_t s;
		memcpy(&s, k + P->dk_size, 8);
		if (s < 8 || s > (1LL << 30) || (s & (s - 1)))
			goto bad;
		size = (uint64_t)s;
		index_bytes = size * (size <= 0xff ? 1 : size <= 0xffff ? 2 : 4);
	} else {
		unsigned log2_size = k[P->dk_size];
		unsigned log2_ix = k[P->dk_log2_index_bytes];
		if (log2_size < 3 || log2_size > 30 || log2_ix < log2_size ||
		    log2_ix > log2_size + 3 || k[P->dk_kind] > 2)
			goto bad;
		size = 1ULL << log2_size;
		index_bytes = 1ULL << log2_ix;
		unicode = k[P->dk_kind] != 0; /* DICT_KEYS_GENERAL is 0 */
	}
	if (nentries < 0 || (uint64_t)nentries > size)
		goto bad;
	d->entries = keys + (uint64_t)P->dk_indices + index_bytes;
	d->nentries = nentries;
	d->entry_size = unicode ? P->dk_unicode_entry_size : P->dk_entry_size;
	/* general entries start with the hash, unicode ones with the key */
	d->key_off = unicode ? 0 : 8;
	if (d->nentries > ND_MAX_DICT)
		return nd_fail(e, ND_ELIMIT,
			       "keys table at 0x%" PRIx64 ": %" PRId64
			       " entries", keys, d->nentries);
	return 0;
bad:
	return nd_fail(e, ND_ECORRUPT, "keys table at 0x%" PRIx64 " is bad",
		       keys);
}

static int dict_shape(struct nd_ctx *c, uint64_t dict, struct dict_shape *d,
		      struct nd_err *e)
{
	const struct nd_pylayout *P = c->py;
	uint64_t keys, values;
	int rc = nd_py_check_kind(c, dict, ND_TPFLAGS_DICT, "dict", e);

	if (rc)
		return rc;
	if ((rc = nd_read_u64(c, dict + (uint64_t)P->dict_keys, &keys, e,
			      "dict keys")) ||
	    (rc = nd_read_u64(c, dict + (uint64_t)P->dict_values, &values,
			      e, "dict values")) ||
	    (rc = keys_shape(c, keys, d, e)))
		return rc;
	d->values = values ? values + (uint64_t)P->dict_split_values : 0;
	return 0;
}

static int entries_foreach(struct nd_ctx *c, const struct dict_shape *d,
			   nd_dict_fn fn, void *arg, struct nd_err *e)
{
	uint64_t chunk[64 * 3];
	const int64_t per = (int64_t)(sizeof(chunk) / (size_t)d->entry_size);

	for (int64_t i = 0; i < d->nentries; i += per) {
		int64_t n = d->nentries - i < per ? d->nentries - i : per;
		int rc = nd_read(c, d->entries + (uint64_t)(i * d->entry_size),
				 chunk, (size_t)(n * d->entry_size), e,
				 "dict entries");
		if (rc)
			return rc;
		for (int64_t j = 0; j < n; j++) {
			const char *ent = (const char *)chunk + j * d->entry_size;
			uint64_t key, value;
			memcpy(&key, ent + d->key_off, 8);
			if (d->values) {
				rc = nd_read_u64(c, d->values + (uint64_t)(i + j) * 8,
						 &value, e, "dict value");
				if (rc)
					return rc;
			} else {
				memcpy(&value, ent + d->key_off + 8, 8);
			}
			if (!key || !value)
				continue; /* deleted slot */
			rc = fn(arg, key, value);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int nd_py_dict_foreach(struct nd_ctx *c, uint64_t dict, nd_dict_fn fn,
		       void *arg, struct nd_err *e)
{
	struct dict_shape d = {0};
	int64_t used;
	int rc = nd_py_dict_len(c, dict, &used, e);

	/* empty dicts share a static keys table with a size of its own */
	if (rc || used == 0)
		return rc;
	rc = dict_shape(c, dict, &d, e);
	return rc ? rc : entries_foreach(c, &d, fn, arg, e);
}

int nd_py_split_foreach(struct nd_ctx *c, uint64_t keys, uint64_t values,
			int64_t capacity, nd_dict_fn fn, void *arg,
			struct nd_err *e)
{
	struct dict_shape d = {0};
	int rc = keys_shape(c, keys, &d, e);

	if (rc)
		return rc;
	/* values[] was sized when the object was made; never read past it */
	if (capacity >= 0 && d.nentries > capacity)
		d.nentries = capacity;
	d.values = values;
	return entries_foreach(c, &d, fn, arg, e);
}

int nd_py_dict_len(struct nd_ctx *c, uint64_t dict, int64_t *n,
		   struct nd_err *e)
{
	int rc = nd_py_check_kind(c, dict, ND_TPFLAGS_DICT, "dict", e);

	if (rc)
		return rc;
	rc = nd_read(c, dict + (uint64_t)c->py->dict_used, n, sizeof(*n), e,
		     "dict size");
	if (rc == 0 && (*n < 0 || *n > ND_MAX_DICT))
		return nd_fail(e, ND_ECORRUPT,
			       "dict at 0x%" PRIx64 ": bad size", dict);
	return rc;
}
