/* The pprof report: profile.proto (as Debian's golang-github-google-pprof-dev
 * ships it, compiled by protoc-c into build/gen/) filled from the ledger's
 * sites, packed by protobuf-c and gzipped by zlib, as pprof reads it.
 * One sample per allocation stack; one Location per (function, line), one
 * Function per (function, file); Python frames, no addresses. */
#include "report_pprof.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hash.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;
typedef Perftools__Profiles__ValueType ValueType;

/* Ids by key, open addressing; keys are never 0 (see the callers). */
struct idmap {
	uint64_t *key;
	uint32_t *id;
	size_t cap, n;
};

/* Everything the profile points to lives in one arena, freed at once. */
struct builder {
	struct nd_arena a;
	struct idmap strs, funcs, locs;
	char **str;
	Function **func;
	Location **loc;
	size_t nstr, nfunc, nloc, capstr, capfunc, caploc;
	bool oom;
};

static void *grow(void *p, size_t *cap, size_t n, size_t size, bool *oom)
{
	if (n < *cap)
		return p;
	size_t c = *cap ? 2 * *cap : 256;
	void *more = realloc(p, c * size);
	if (!more) {
		*oom = true;
		return NULL;
	}
	*cap = c;
	return more;
}

/* The slot of key: found (*id set, true) or where it would go. */
static bool idmap_find(const struct idmap *m, uint64_t key, uint32_t *id,
		       size_t *slot, const struct builder *b, const char *s)
{
	for (size_t k = slot_hash(key, m->cap - 1);; k = (k + 1) & (m->cap - 1)) {
		if (!m->key[k]) {
			*slot = k;
			return false;
		}
		/* strings are keyed by their hash: the text decides */
		if (m->key[k] == key && (!s || !strcmp(b->str[m->id[k]], s))) {
			*id = m->id[k];
			return true;
		}
	}
}

static int idmap_room(struct idmap *m)
{
	if (2 * (m->n + 1) <= m->cap)
		return 0;
	size_t cap = m->cap ? 2 * m->cap : 1024;
	uint64_t *key = calloc(cap, sizeof(*key));
	uint32_t *id = calloc(cap, sizeof(*id));
	if (!key || !id) {
		free(key);
		free(id);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->key[i])
			continue;
		size_t k = slot_hash(m->key[i], cap - 1);
		while (key[k])
			k = (k + 1) & (cap - 1);
		key[k] = m->key[i];
		id[k] = m->id[i];
	}
	free(m->key);
	free(m->id);
	m->key = key;
	m->id = id;
	m->cap = cap;
	return 0;
}

/* s's index in the string table (0 is ""), added when new. */
static int64_t str_index(struct builder *b, const char *s)
{
	uint64_t key = fnv1a(FNV_START, s, strlen(s)) | 1;
	uint32_t id;
	size_t slot;

	if (b->oom || idmap_room(&b->strs)) {
		b->oom = true;
		return 0;
	}
	if (idmap_find(&b->strs, key, &id, &slot, b, s))
		return id;
	char **more = grow(b->str, &b->capstr, b->nstr, sizeof(*more), &b->oom);
	char *copy = nd_arena_strdup(&b->a, s);
	if (!more || !copy) {
		b->oom = true;
		return 0;
	}
	b->str = more;
	b->str[b->nstr] = copy;
	b->strs.key[slot] = key;
	b->strs.id[slot] = (uint32_t)b->nstr;
	b->strs.n++;
	return (int64_t)b->nstr++;
}

/* The id of the Location of frame f (a Function of its own too). */
static uint64_t location(struct builder *b, const struct nd_pyframe *f)
{
	int64_t name = str_index(b, f ? sites_function(f) : SITES_NO_STACK);
	int64_t file = str_index(b, f ? f->file : "");
	int64_t line = f && f->line > 0 ? f->line : 0;
	uint32_t fid, lid;
	size_t slot;

	if (b->oom || idmap_room(&b->funcs) || idmap_room(&b->locs))
		goto oom;
	/* ids start at 1: pprof reads 0 as none; keys are never 0 */
	uint64_t fkey = 1ull << 63 | (uint64_t)name << 32 | (uint64_t)file;
	if (!idmap_find(&b->funcs, fkey, &fid, &slot, b, NULL)) {
		Function **more = grow(b->func, &b->capfunc, b->nfunc,
				       sizeof(*more), &b->oom);
		Function *fn = nd_arena_alloc(&b->a, sizeof(*fn));
		if (!more || !fn)
			goto oom;
		b->func = more;
		fid = (uint32_t)++b->nfunc;
		*fn = (Function)PERFTOOLS__PROFILES__FUNCTION__INIT;
		fn->id = fid;
		fn->name = fn->system_name = name;
		fn->filename = file;
		b->func[fid - 1] = fn;
		b->funcs.key[slot] = fkey;
		b->funcs.id[slot] = fid;
		b->funcs.n++;
	}
	uint64_t lkey = (uint64_t)fid << 32 | (uint32_t)line;
	if (idmap_find(&b->locs, lkey, &lid, &slot, b, NULL))
		return lid;
	Location **more = grow(b->loc, &b->caploc, b->nloc, sizeof(*more),
			       &b->oom);
	Location *loc = nd_arena_alloc(&b->a, sizeof(*loc));
	Line *ln = nd_arena_alloc(&b->a, sizeof(*ln));
	Line **lines = nd_arena_alloc(&b->a, sizeof(*lines));
	if (!more || !loc || !ln || !lines)
		goto oom;
	b->loc = more;
	*loc = (Location)PERFTOOLS__PROFILES__LOCATION__INIT;
	*ln = (Line)PERFTOOLS__PROFILES__LINE__INIT;
	ln->function_id = fid;
	ln->line = line;
	lines[0] = ln;
	lid = (uint32_t)++b->nloc;
	loc->id = lid;
	loc->n_line = 1;
	loc->line = lines;
	b->loc[lid - 1] = loc;
	b->locs.key[slot] = lkey;
	b->locs.id[slot] = lid;
	b->locs.n++;
	return lid;
oom:
	b->oom = true;
	return 0;
}

/* A sample of site id: its locations innermost first, as pprof orders
 * them, and its four values. */
static Sample *sample(struct builder *b, const struct report_in *in,
		      uint32_t id, struct site_count c)
{
	const struct nd_pyframe *f;
	size_t n = report_frames(in, id, &f);
	Sample *s = nd_arena_alloc(&b->a, sizeof(*s));
	uint64_t *locs = nd_arena_alloc(&b->a, (n ? n : 1) * sizeof(*locs));
	int64_t *v = nd_arena_alloc(&b->a, 4 * sizeof(*v));

	if (!s || !locs || !v) {
		b->oom = true;
		return NULL;
	}
	*s = (Sample)PERFTOOLS__PROFILES__SAMPLE__INIT;
	for (size_t i = 0; i < (n ? n : 1); i++)
		locs[i] = location(b, n ? &f[i] : NULL);
	s->n_location_id = n ? n : 1;
	s->location_id = locs;
	v[0] = (int64_t)c.live_bytes;
	v[1] = (int64_t)c.live_n;
	v[2] = (int64_t)c.alloc_bytes;
	v[3] = (int64_t)c.alloc_n;
	s->n_value = 4;
	s->value = v;
	return s;
}

static ValueType *value_type(struct builder *b, const char *type,
			     const char *unit)
{
	ValueType *t = nd_arena_alloc(&b->a, sizeof(*t));

	if (!t) {
		b->oom = true;
		return NULL;
	}
	*t = (ValueType)PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	t->type = str_index(b, type);
	t->unit = str_index(b, unit);
	return t;
}

/* The packed profile gzipped (a gzip member: what pprof expects) into out. */
static int gzip_into(const uint8_t *p, size_t len, struct nd_buf *out)
{
	z_stream z = {0};
	uint8_t chunk[65536];
	int rc;

	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = (uint8_t *)p;
	z.avail_in = (uInt)len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		rc = deflate(&z, Z_FINISH);
		nd_buf_add(out, chunk, sizeof(chunk) - z.avail_out);
	} while (rc == Z_OK || rc == Z_BUF_ERROR);
	deflateEnd(&z);
	return rc == Z_STREAM_END && !out->oom ? 0 : -1;
}

static void builder_free(struct builder *b)
{
	nd_arena_free(&b->a);
	free(b->str);
	free(b->func);
	free(b->loc);
	free(b->strs.key);
	free(b->strs.id);
	free(b->funcs.key);
	free(b->funcs.id);
	free(b->locs.key);
	free(b->locs.id);
}

int report_pprof(const struct report_in *in, struct nd_buf *out,
		 struct nd_err *e)
{
	static const char *const types[4][2] = {
		{"inuse_space", "bytes"}, {"inuse_objects", "count"},
		{"alloc_space", "bytes"}, {"alloc_objects", "count"}};
	struct builder b = {.a.limit = SIZE_MAX};
	Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
	ValueType *st[4];
	size_t nsamples = 0;
	int rc = -1;

	str_index(&b, "");
	for (int i = 0; i < 4; i++)
		st[i] = value_type(&b, types[i][0], types[i][1]);
	Sample **samples = calloc(in->seen->nsites ? in->seen->nsites : 1,
				  sizeof(*samples));
	for (uint32_t id = 0; samples && !b.oom && id < in->seen->nsites; id++) {
		struct site_count c = ledger_site(in->seen, id);
		if (c.alloc_n)
			samples[nsamples++] = sample(&b, in, id, c);
	}
	p.n_sample_type = 4;
	p.sample_type = st;
	p.n_sample = nsamples;
	p.sample = samples;
	p.period_type = value_type(&b, "space", "bytes");
	p.period = 1;
	p.default_sample_type = str_index(&b, "inuse_space");
	p.time_nanos = in->start_ns;
	p.duration_nanos = in->end_ns - in->start_ns;
	if (samples && !b.oom) {
		p.n_location = b.nloc;
		p.location = b.loc;
		p.n_function = b.nfunc;
		p.function = b.func;
		p.n_string_table = b.nstr;
		p.string_table = b.str;
		size_t len = perftools__profiles__profile__get_packed_size(&p);
		uint8_t *packed = malloc(len ? len : 1);
		if (packed) {
			perftools__profiles__profile__pack(&p, packed);
			rc = gzip_into(packed, len, out);
			free(packed);
		}
	}
	free(samples);
	builder_free(&b);
	return rc ? nd_fail(e, ND_ENOMEM, "pprof profile: out of memory") : 0;
}
