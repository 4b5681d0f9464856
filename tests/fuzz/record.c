/* record OUTDIR PREFIX PID ADDRESS... : writes fuzz_decode seeds from a
 * live process that sits still (a zoo waiting on stdin): for each array
 * address, the bytes decoding and printing it read; then the bytes of a
 * walk of every thread's frames and ndarray's subclasses; then those of
 * a name lookup (record.py drives it over the Python/NumPy matrix). Only
 * what was read goes in: a seed is a few KiB, not the process. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/target.h"
#include "exercise.h"

/* an array's bytes, or a walk of sys.modules (a few hundred keys) */
#define MAX_ARRAY_SEED (64 << 10)
#define MAX_WALK_SEED (256 << 10)

struct range {
	uint64_t addr;
	size_t len;
	unsigned char *bytes;
};

struct recorder {
	struct nd_reader inner;
	struct range *r;
	size_t n, cap;
};

static int record_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct recorder *rec = ctx;
	int rc = rec->inner.read(rec->inner.ctx, addr, buf, len);

	if (rc || len == 0)
		return rc;
	if (rec->n == rec->cap) {
		rec->cap = rec->cap ? 2 * rec->cap : 256;
		rec->r = realloc(rec->r, rec->cap * sizeof(*rec->r));
		if (!rec->r)
			abort();
	}
	rec->r[rec->n].addr = addr;
	rec->r[rec->n].len = len;
	rec->r[rec->n].bytes = malloc(len);
	if (!rec->r[rec->n].bytes)
		abort();
	memcpy(rec->r[rec->n].bytes, buf, len);
	rec->n++;
	return 0;
}

static int by_addr(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void forget(struct recorder *rec)
{
	for (size_t i = 0; i < rec->n; i++)
		free(rec->r[i].bytes);
	rec->n = 0;
}

/* Sorted, overlapping and touching ranges merged: the segments. */
static int save(struct recorder *rec, const char *path,
		const struct fuzz_header *h)
{
	size_t total = sizeof(*h);
	FILE *f;

	qsort(rec->r, rec->n, sizeof(*rec->r), by_addr);
	size_t out = 0;
	for (size_t i = 0; i < rec->n; i++) {
		struct range *last = out ? &rec->r[out - 1] : NULL;
		struct range *r = &rec->r[i];
		if (last && r->addr <= last->addr + last->len) {
			uint64_t end = r->addr + r->len;
			if (end > last->addr + last->len) {
				size_t grown = end - last->addr;
				last->bytes = realloc(last->bytes, grown);
				if (!last->bytes)
					abort();
				memcpy(last->bytes + (r->addr - last->addr),
				       r->bytes, r->len);
				last->len = grown;
			}
			free(r->bytes);
			continue;
		}
		rec->r[out++] = *r;
	}
	rec->n = out;
	for (size_t i = 0; i < rec->n; i++)
		total += FUZZ_SEG_HEADER + rec->r[i].len;
	if (total > (h->mode == FUZZ_ARRAY ? MAX_ARRAY_SEED : MAX_WALK_SEED)) {
		fprintf(stderr, "record: %s skipped: %zu bytes\n", path, total);
		forget(rec);
		return 0;
	}
	f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "record: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fwrite(h, sizeof(*h), 1, f);
	for (size_t i = 0; i < rec->n; i++) {
		uint32_t len = (uint32_t)rec->r[i].len;
		fwrite(&rec->r[i].addr, 8, 1, f);
		fwrite(&len, 4, 1, f);
		fwrite(rec->r[i].bytes, len, 1, f);
	}
	forget(rec);
	return fclose(f) ? -1 : 0;
}

/* Each seed must hold the type objects it needs, not rely on names the
 * context remembers from the seed before. */
static void forget_types(struct nd_ctx *c)
{
	memset(c->tc, 0, sizeof(c->tc));
}

int main(int argc, char **argv)
{
	struct target t;
	struct target_opts opts = {0};
	struct nd_err e = {0};
	struct recorder rec = {0};
	char path[4096];
	int rc = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: record OUTDIR PREFIX PID ADDRESS...\n");
		return 2;
	}
	if (target_open(argv[3], &opts, &t, &e)) {
		fprintf(stderr, "record: %s\n", e.msg);
		return 1;
	}
	rec.inner = t.ctx.rd;
	t.ctx.rd = (struct nd_reader){.read = record_read, .ctx = &rec};
	struct fuzz_header h = {
		.py_minor = (uint8_t)(t.ctx.py->free_threaded
					      ? 7 : t.ctx.py->minor - 9),
		.np_major = (uint8_t)(t.ctx.np->major - 1),
		.nvalues = 8,
		.numpy_version = (uint32_t)t.ctx.numpy_version,
		.array_type = t.ctx.array_type,
		.descr_type = t.ctx.descr_type,
		.type_type = t.ctx.type_type,
	};
	for (int i = 4; i < argc && !rc; i++) {
		h.mode = FUZZ_ARRAY;
		h.root = strtoull(argv[i], NULL, 0);
		snprintf(path, sizeof(path), "%s/%s-array-%d", argv[1],
			 argv[2], i - 4);
		forget_types(&t.ctx);
		fuzz_exercise(&t.ctx, &h);
		rc = save(&rec, path, &h);
	}
	h.root = t.rt.runtime_addr;
	h.mode = FUZZ_STACKS;
	snprintf(path, sizeof(path), "%s/%s-stacks", argv[1], argv[2]);
	forget_types(&t.ctx);
	fuzz_exercise(&t.ctx, &h);
	rc = rc ? rc : save(&rec, path, &h);
	h.mode = FUZZ_RESOLVE;
	snprintf(h.name, sizeof(h.name), "__main__.model.weights");
	snprintf(path, sizeof(path), "%s/%s-resolve", argv[1], argv[2]);
	forget_types(&t.ctx);
	fuzz_exercise(&t.ctx, &h);
	rc = rc ? rc : save(&rec, path, &h);

	forget(&rec);
	free(rec.r);
	t.ctx.rd = rec.inner;
	target_close(&t);
	return rc ? 1 : 0;
}
