#include "sites.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fileio.h"
#include "hash.h"
#include "snapshot.h"
#include "target.h"

/* Pages of code objects, strings and line tables a batch of events may
 * need; past it, reads go to the target uncached. */
#define SITES_PAGES_BUDGET (4u << 20)

int sites_init(struct sites *ss, struct target *t, unsigned depth)
{
	memset(ss, 0, sizeof(*ss));
	ss->pages = snapshot_new(t->src, SITES_PAGES_BUDGET);
	ss->ctx = t->ctx;
	if (ss->pages)
		ss->ctx.rd = (struct nd_reader){.read = mem_read_cb,
						.readv = mem_readv_cb,
						.ctx = snapshot_mem(ss->pages)};
	ss->depth = depth;
	ss->kept.limit = SIZE_MAX; /* as many stacks as the window makes */
	ss->codes = nd_codecache_new();
	ss->frames = calloc(depth ? depth : 1, sizeof(*ss->frames));
	ss->s = calloc(1, sizeof(*ss->s)); /* id 0 */
	ss->cap = ss->n = 1;
	return ss->pages && ss->codes && ss->frames && ss->s ? 0 : -1;
}

void sites_free(struct sites *ss)
{
	snapshot_free(ss->pages);
	nd_codecache_free(ss->codes);
	nd_arena_free(&ss->scratch);
	nd_arena_free(&ss->kept);
	free(ss->frames);
	free(ss->s);
	free(ss->index);
	memset(ss, 0, sizeof(*ss));
}

/* The frames of ev named into ss->frames: how many. */
static size_t name_frames(struct sites *ss, const struct nd_event *ev)
{
	size_t n = 0;

	nd_arena_free(&ss->scratch);
	for (unsigned i = 0; i < ev->nframes && n < ss->depth; i++) {
		struct nd_rawframe r = {ev->f[i].code, ev->f[i].instr,
					(uint8_t)ev->f[i].owner};
		struct nd_err err = {0};
		int rc = nd_py_frame_of(&ss->ctx, ss->codes, &ss->scratch,
					&r, &ss->frames[n], &err);
		if (rc == 1)
			continue;
		if (rc)
			break; /* freed since, or never a frame */
		n++;
	}
	return n;
}

static uint64_t stack_hash(const struct nd_pyframe *f, size_t n)
{
	uint64_t h = FNV_START;

	for (size_t i = 0; i < n; i++) {
		h = fnv1a(h, f[i].file, strlen(f[i].file) + 1);
		h = fnv1a(h, f[i].name, strlen(f[i].name) + 1);
		if (f[i].qualname)
			h = fnv1a(h, f[i].qualname, strlen(f[i].qualname) + 1);
		h = fnv1a(h, &f[i].line, sizeof(f[i].line));
	}
	return h;
}

static bool same_stack(const struct site *s, const struct nd_pyframe *f,
		       size_t n)
{
	if (s->n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s->f[i].line != f[i].line ||
		    strcmp(s->f[i].file, f[i].file) ||
		    strcmp(s->f[i].name, f[i].name) ||
		    !s->f[i].qualname != !f[i].qualname ||
		    (f[i].qualname && strcmp(s->f[i].qualname, f[i].qualname)))
			return false;
	return true;
}

static int grow_index(struct sites *ss)
{
	size_t cap = ss->icap ? ss->icap * 2 : 1024;
	uint32_t *ix = calloc(cap, sizeof(*ix));

	if (!ix)
		return -1;
	for (size_t id = 1; id < ss->n; id++) {
		size_t k = ss->s[id].hash & (cap - 1);
		while (ix[k])
			k = (k + 1) & (cap - 1);
		ix[k] = (uint32_t)id;
	}
	free(ss->index);
	ss->index = ix;
	ss->icap = cap;
	return 0;
}

static const char *keep(struct sites *ss, const char *s)
{
	return s ? nd_arena_strdup(&ss->kept, s) : NULL;
}

static uint32_t intern(struct sites *ss, size_t n)
{
	const struct nd_pyframe *f = ss->frames;
	uint64_t h = stack_hash(f, n);

	if (!n)
		return 0;
	if (2 * ss->n >= ss->icap && grow_index(ss))
		return 0;
	size_t k = h & (ss->icap - 1);
	for (; ss->index[k]; k = (k + 1) & (ss->icap - 1)) {
		struct site *s = &ss->s[ss->index[k]];
		if (s->hash == h && same_stack(s, f, n))
			return ss->index[k];
	}
	if (ss->n >= SITES_MAX)
		return 0;
	if (ss->n == ss->cap) {
		struct site *more = realloc(ss->s, 2 * ss->cap * sizeof(*more));
		if (!more)
			return 0;
		ss->s = more;
		ss->cap *= 2;
	}
	struct site *s = &ss->s[ss->n];
	*s = (struct site){.hash = h, .n = n,
			   .f = nd_arena_alloc(&ss->kept, n * sizeof(*f))};
	if (!s->f)
		return 0;
	for (size_t i = 0; i < n; i++) {
		s->f[i] = f[i];
		s->f[i].file = keep(ss, f[i].file);
		s->f[i].name = keep(ss, f[i].name);
		s->f[i].qualname = keep(ss, f[i].qualname);
		if (!s->f[i].file || !s->f[i].name ||
		    (f[i].qualname && !s->f[i].qualname))
			return 0;
	}
	ss->index[k] = (uint32_t)ss->n;
	return (uint32_t)ss->n++;
}

uint32_t sites_of(struct sites *ss, const struct nd_event *ev)
{
	uint64_t h = FNV_START;

	if (ev->stack == ND_STACK_OFF || !ss->codes || !ev->nframes)
		return 0;
	/* pages read before the buffer was allocated may predate its code
	 * objects: read them again; later ones serve the rest of a batch (a
	 * drop per event made naming slower than a busy target) */
	if (ev->ts_ns >= ss->pages_ns) {
		struct timespec now;
		snapshot_reset(ss->pages);
		clock_gettime(CLOCK_MONOTONIC, &now);
		ss->pages_ns = (uint64_t)now.tv_sec * 1000000000u +
			       (uint64_t)now.tv_nsec;
		ss->gen++;
	}
	h = fnv1a(h, ev->f, ev->nframes * sizeof(ev->f[0]));
	struct sites_raw *r = &ss->raw[h % SITES_RAW];
	if (r->gen == ss->gen && r->hash == h)
		return r->id;
	uint32_t id = intern(ss, name_frames(ss, ev));
	*r = (struct sites_raw){h, id, ss->gen};
	return id;
}

int sites_count(struct sites *ss, struct live_ledger *l,
		const struct nd_event *ev)
{
	struct live_buf gone;

	if (ev->kind == ND_EV_ALLOC) {
		struct live_buf b = {ev->addr, ev->size, ev->ts_ns, ev->tid,
				     ss ? sites_of(ss, ev) : 0};
		return ledger_alloc(l, &b);
	}
	if (ev->kind == ND_EV_FREE)
		ledger_free(l, ev->addr, &gone);
	else
		l->resized_untracked++;
	return 0;
}

const char *sites_function(const struct nd_pyframe *f)
{
	return f->qualname ? f->qualname : f->name;
}

void sites_json(const struct nd_pyframe *f, size_t n, struct nd_buf *b)
{
	nd_buf_puts(b, ", \"stack\": [");
	for (size_t i = 0; i < n; i++) {
		nd_buf_puts(b, i ? ", {\"file\": " : "{\"file\": ");
		nd_buf_json_str(b, f[i].file, strlen(f[i].file));
		nd_buf_puts(b, ", \"function\": ");
		nd_buf_json_str(b, sites_function(&f[i]), strlen(sites_function(&f[i])));
		nd_buf_printf(b, ", \"line\": %d}", f[i].line);
	}
	nd_buf_puts(b, "]");
}

void sites_text(const struct nd_pyframe *f, size_t n, struct nd_buf *b)
{
	if (!n)
		return;
	nd_buf_puts(b, "  ");
	nd_buf_puts_safe(b, path_base(f->file));
	nd_buf_printf(b, ":%d ", f->line);
	nd_buf_puts_safe(b, sites_function(f));
}
