#include "audit_model.h"

#include <stdlib.h>
#include <string.h>

#include "../decode/cmp.h"

static int cmp_view(const void *x, const void *y)
{
	const struct census_view *a = x, *b = y;
	if (a->base != b->base)
		return a->base < b->base ? -1 : 1;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

static int by_addr(const void *x, const void *y)
{
	const struct census_arr *a = x, *b = y;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

static struct census_arr *find(const struct census *s, uint64_t addr)
{
	struct census_arr key = {.addr = addr};
	return bsearch(&key, s->a, s->n, sizeof(*s->a), by_addr);
}

int census_take(struct census *s, struct nd_ctx *c, const uint64_t *cand,
		size_t ncand, struct nd_err *e)
{
	memset(s, 0, sizeof(*s));
	if (!(s->a = calloc(ncand ? ncand : 1, sizeof(*s->a))))
		return nd_fail(e, ND_ENOMEM, "out of memory");
	for (size_t i = 0; i < ncand; i++) {
		struct nd_array a;
		if (nd_array_decode(c, cand[i], &a, NULL) == 0) {
			struct census_arr *x = &s->a[s->n++];
			*x = (struct census_arr){a.addr, a.data, 0, a.nbytes,
						 a.refcnt, a.extent_lo,
						 a.extent_hi, a.flags, 0};
			if (a.nbases && a.bases[0].kind == ND_BASE_ARRAY)
				x->base = a.bases[0].addr;
		}
		nd_array_free(&a);
	}
	qsort(s->a, s->n, sizeof(*s->a), by_addr);
	s->owned = calloc(s->n ? s->n : 1, sizeof(*s->owned));
	s->views = calloc(s->n ? s->n : 1, sizeof(*s->views));
	if (!s->owned || !s->views)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	for (size_t i = 0; i < s->n; i++) {
		struct census_arr *v = &s->a[i];
		if (v->flags & ND_F_OWNDATA)
			s->owned[s->nowned++] = v->data;
		struct census_arr *b = v->base ? find(s, v->base) : NULL;
		if (!b)
			continue;
		s->views[s->nviews++] = (struct census_view){b->addr, v->addr};
		if (!b->nviews++) {
			b->vlo = INT64_MAX;
			b->vhi = INT64_MIN;
		}
		if (v->hi > v->lo) {
			int64_t lo = (int64_t)(v->data - b->data) + v->lo;
			int64_t hi = (int64_t)(v->data - b->data) + v->hi;
			b->vlo = lo < b->vlo ? lo : b->vlo;
			b->vhi = hi > b->vhi ? hi : b->vhi;
		}
	}
	qsort(s->owned, s->nowned, sizeof(*s->owned), nd_cmp_u64);
	/* base first in census_view: sorted by base, then by address */
	qsort(s->views, s->nviews, sizeof(*s->views), cmp_view);
	return 0;
}

void census_free(struct census *s)
{
	free(s->a);
	free(s->owned);
	free(s->views);
	memset(s, 0, sizeof(*s));
}

size_t census_views_of(const struct census *s, uint64_t owner, size_t *first)
{
	size_t lo = 0, hi = s->nviews;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->views[mid].base < owner)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (hi < s->nviews && s->views[hi].base == owner)
		hi++;
	return hi - lo;
}

/* Whether a live array owns the buffer at data. */
static bool owned(const struct census *s, uint64_t data)
{
	return bsearch(&data, s->owned, s->nowned, sizeof(*s->owned),
		       nd_cmp_u64) != NULL;
}

int64_t census_reachable(const struct census_arr *o)
{
	/* views of one owner rarely leave holes worth telling apart */
	return o->nviews && o->vhi > o->vlo ? o->vhi - o->vlo : 0;
}

static const struct site *site_of(const struct sites *ss, uint32_t id)
{
	return ss && id ? &ss->s[id] : NULL;
}

static int by_bytes(const void *x, const void *y)
{
	const struct audit_finding *a = x, *b = y;
	if (a->kind != b->kind)
		return (int)a->kind - (int)b->kind;
	return a->bytes < b->bytes ? 1 : a->bytes > b->bytes ? -1 : 0;
}

/* Largest first; of one size, those without a site together. */
static int by_size_desc(const void *x, const void *y)
{
	const struct live_buf *a = x, *b = y;
	if (a->size != b->size)
		return a->size < b->size ? 1 : -1;
	return (a->site != 0) - (b->site != 0);
}

int audit_find(struct audit_findings *out, const struct census *end,
	       bool have_end, const struct live_ledger *seen,
	       struct sites *sites, uint64_t min_size, struct nd_err *e)
{
	const struct live_table *live = &seen->live;
	size_t nlive = live->n, k = 0;

	memset(out, 0, sizeof(*out));
	out->bufs = calloc(nlive ? nlive : 1, sizeof(*out->bufs));
	out->f = calloc(nlive * 2 + 2 * end->n + 1, sizeof(*out->f));
	if (!out->bufs || !out->f) {
		audit_findings_free(out);
		return nd_fail(e, ND_ENOMEM, "out of memory");
	}
	struct live_buf *bufs = out->bufs;
	struct audit_finding *f = out->f;
	for (size_t i = 0; i < live->cap; i++)
		if (live->b[i].addr > 1 && live->b[i].size >= min_size)
			bufs[k++] = live->b[i];
	qsort(bufs, k, sizeof(*bufs), by_size_desc);
	for (size_t i = 0; i < k; i++) {
		out->growth += bufs[i].size;
		if (have_end && !owned(end, bufs[i].addr)) {
			f[out->n++] = (struct audit_finding){
				AUDIT_ORPHAN, bufs[i].size, &bufs[i],
				.site = site_of(sites, bufs[i].site)};
			out->orphan_bytes += bufs[i].size;
			out->norphan++;
		}
	}
	for (size_t i = 0; i < end->n; i++) {
		const struct census_arr *a = &end->a[i];
		const struct live_buf *lb = live_get(live, a->data);
		if (a->unreachable) {
			f[out->n++] = (struct audit_finding){
				AUDIT_UNREACHABLE, (uint64_t)a->nbytes, NULL, a,
				.site = lb ? site_of(sites, lb->site) : NULL};
			out->unreachable_bytes += (uint64_t)a->nbytes;
			out->nunreachable++;
		}
		if (!(a->flags & ND_F_OWNDATA) || !a->nviews ||
		    a->refcnt != a->nviews)
			continue;
		int64_t r = census_reachable(a);
		if (r >= a->nbytes)
			continue;
		f[out->n++] = (struct audit_finding){
			AUDIT_PINNED, (uint64_t)(a->nbytes - r), NULL, a,
			.site = lb ? site_of(sites, lb->site) : NULL};
		out->pinned_bytes += (uint64_t)a->nbytes;
		out->npinned++;
	}
	/* growth by site, or by size where no stack was seen (a target
	 * whose frames cannot be read): runs in the sorted buffers */
	for (size_t i = 0; i < k; i++) {
		struct site *site = sites && bufs[i].site ? &sites->s[bufs[i].site]
							  : NULL;
		if (site) {
			site->bytes += bufs[i].size;
			site->count++;
			continue;
		}
		size_t j = i;
		while (j < k && bufs[j].size == bufs[i].size &&
		       !(sites && bufs[j].site))
			j++;
		f[out->n++] = (struct audit_finding){
			AUDIT_GROWTH, bufs[i].size * (j - i), &bufs[i], NULL,
			j - i};
		i = j - 1;
	}
	for (size_t id = 1; sites && id < sites->n; id++)
		if (sites->s[id].count)
			f[out->n++] = (struct audit_finding){
				AUDIT_GROWTH, sites->s[id].bytes, NULL, NULL,
				sites->s[id].count, &sites->s[id]};
	qsort(f, out->n, sizeof(*f), by_bytes);
	return 0;
}

void audit_findings_free(struct audit_findings *f)
{
	free(f->bufs);
	free(f->f);
	memset(f, 0, sizeof(*f));
}
