#include "site_lines.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

static uint64_t line_hash(const struct nd_pyframe *f)
{
	if (!f)
		return 1;
	const char *fn = sites_function(f);
	uint64_t h = fnv1a(FNV_START, fn, strlen(fn) + 1);
	h = fnv1a(h, f->file, strlen(f->file) + 1);
	return fnv1a(h, &f->line, sizeof(f->line)) | 1;
}

static bool same_line(const struct nd_pyframe *a, const struct nd_pyframe *b)
{
	if (!a || !b)
		return a == b;
	return a->line == b->line && !strcmp(a->file, b->file) &&
	       !strcmp(sites_function(a), sites_function(b));
}

/* The frame a line stands for: the innermost one outside NumPy's own
 * Python code (np.ones, and the __array_function__ dispatcher of 1.x
 * before np.concatenate and the like, are Python in some versions, and
 * every site would be theirs), else the innermost. */
static const struct nd_pyframe *user_frame(const struct site *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const char *f = s->f[i].file;
		if (!strstr(f, "/numpy/") && strncmp(f, "numpy/", 6) &&
		    strcmp(f, "<__array_function__ internals>"))
			return &s->f[i];
	}
	return &s->f[0];
}

/* prev grown to every site of seen, new ones at 0. */
static int grow_prev(uint64_t **prev, size_t *nprev, size_t n)
{
	if (n <= *nprev)
		return 0;
	uint64_t *more = realloc(*prev, n * sizeof(*more));
	if (!more)
		return -1;
	memset(more + *nprev, 0, (n - *nprev) * sizeof(*more));
	*prev = more;
	*nprev = n;
	return 0;
}

int site_lines(const struct live_ledger *seen, const struct sites *sites,
	       uint64_t **prev, size_t *nprev, struct site_line **out,
	       size_t *n)
{
	size_t cap = 16;
	while (cap < 2 * seen->nsites)
		cap *= 2;
	uint64_t *keys = calloc(cap, sizeof(*keys));
	uint32_t *ix = calloc(cap, sizeof(*ix));
	struct site_line *l = calloc(seen->nsites ? seen->nsites : 1, sizeof(*l));

	*out = NULL;
	*n = 0;
	if (!keys || !ix || !l || (prev && grow_prev(prev, nprev, seen->nsites))) {
		free(keys);
		free(ix);
		free(l);
		return -1;
	}
	size_t used = 0;
	for (uint32_t id = 0; id < seen->nsites; id++) {
		struct site_count c = seen->by_site[id];
		uint64_t recent = prev ? c.alloc_bytes - (*prev)[id] : 0;
		if (prev)
			(*prev)[id] = c.alloc_bytes;
		if (!c.alloc_n)
			continue;
		const struct nd_pyframe *f =
			id && sites && id < sites->n && sites->s[id].n
				? user_frame(&sites->s[id])
				: NULL;
		uint64_t h = line_hash(f);
		size_t k = slot_hash(h, cap - 1);
		while (keys[k] && !(keys[k] == h && same_line(l[ix[k]].f, f)))
			k = (k + 1) & (cap - 1);
		if (!keys[k]) {
			keys[k] = h;
			ix[k] = (uint32_t)used;
			l[used++].f = f;
		}
		struct site_line *x = &l[ix[k]];
		x->c.alloc_bytes += c.alloc_bytes;
		x->c.alloc_n += c.alloc_n;
		x->c.live_bytes += c.live_bytes;
		x->c.live_n += c.live_n;
		x->recent_bytes += recent;
	}
	free(keys);
	free(ix);
	*out = l;
	*n = used;
	return 0;
}
