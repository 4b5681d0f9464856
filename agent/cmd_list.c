/* ndspy list TARGET: every live ndarray, found by scanning memory. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../decode/arena.h"
#include "../decode/buf.h"
#include "../decode/format.h"
#include "../decode/ndarray.h"
#include "../decode/pyobj.h"
#include "../decode/pywalk.h"
#include "cli.h"
#include "freeze.h"
#include "scan.h"
#include "target.h"

static const char usage[] =
	"usage: ndspy list [options] TARGET\n"
	"\n"
	"List every live NumPy array of a process or a core file (subclasses\n"
	"included), found by scanning its writable memory for array headers\n"
	"and decoding each one: a table sorted by size, then a summary.\n"
	"\n"
	"  TARGET           a process ID, or a core file (gcore's or the kernel's)\n"
	"\n"
	"options:\n"
	"  --json           one JSON object per array per line, as `show --json`\n"
	"                   prints it (without values)\n"
	"  --min-bytes N    only arrays of at least N bytes (nbytes)\n"
	"  --no-pause       scan without stopping the process: arrays made or\n"
	"                   freed meanwhile may be missed; one whose header changed\n"
	"                   while it was read is read again, and left out (and\n"
	"                   counted on stderr) if it keeps changing (3 tries)\n"
	CLI_CORE_HELP
	"  -v, --verbose    what was scanned, how fast, how long the pause was\n"
	"  -h, --help       this text\n"
	"\n"
	"Columns: address, type, dtype, shape, size, owner (owns its data, view\n"
	"of the array that does, or wraps the object that does), and the memory\n"
	"holding the data. Summary: arrays, bytes arrays own, bytes reached only\n"
	"through views of other objects, distinct buffers.\n"
	"\n"
	"exit status: 0 ok; 2 usage; 3 the target cannot be opened\n";

struct list_opts {
	bool json, pause;
	int64_t min_bytes;
};

/* One array found: its address and size, and the header, dims and
 * strides it was decoded from (snap), from which it is decoded again for
 * printing; what keeps its buffer is filled in when its line is printed
 * (for the summary). */
struct found {
	uint64_t addr, nbytes;
	uint64_t owner;     /* what keeps its buffer: an owning array, an object */
	int64_t owner_len;  /* the owner's buffer length when not an array */
	bool owns, via_object;
	const unsigned char *snap;
};

/* The bytes of one array's own memory that a decode reads: the object
 * header, then ndim dims and ndim strides. Everything else it reads (the
 * dtype, types, bases: shared by many arrays) comes from the page cache. */
struct snap {
	uint64_t addr;
	unsigned char hdr[128];
	int64_t dims[ND_MAXDIMS], strides[ND_MAXDIMS];
	int nd;
	uint64_t dims_at, strides_at;
};

/* A reader serving a snap's bytes from the snap, the rest from mem. */
struct overlay {
	struct mem *mem;
	const struct snap *s;
	size_t hlen;
};

struct list_state {
	struct found *f;
	size_t n, cap;
	struct nd_arena snaps;
	uint64_t rejected, changed, unsteady;
};

static int list_option(void *opts, int ch, const char *arg,
		       struct nd_err *e)
{
	struct list_opts *o = opts;

	switch (ch) {
	case 'j':
		o->json = true;
		return 0;
	case 'm':
		return cli_parse_count("--min-bytes", arg, &o->min_bytes, e);
	default: /* 'n' */
		o->pause = false;
		return 0;
	}
}

static int parse(int argc, char **argv, struct list_opts *o, int *first,
		 struct nd_err *e)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"min-bytes", required_argument, NULL, 'm'},
		{"no-pause", no_argument, NULL, 'n'},
		CLI_COMMON_OPTIONS,
	};

	*o = (struct list_opts){.pause = true};
	if (cli_options(argc, argv, longopts, "list", usage, list_option, o,
			first, e))
		return -1;
	if (argc - *first != 1)
		return nd_fail(e, ND_EUSAGE,
			       "list needs exactly one TARGET (see ndspy list --help)");
	return 0;
}

/* What keeps the buffer alive (into f), and how the table says it. */
static void owner_of(const struct nd_array *a, struct found *f,
		     struct nd_buf *b)
{
	f->owns = a->flags & ND_F_OWNDATA;
	f->owner = a->addr;
	f->owner_len = -1;
	f->via_object = false;
	if (f->owns) {
		nd_buf_puts(b, "owns its data");
		return;
	}
	for (int i = 0; i < a->nbases; i++) {
		const struct nd_base *x = &a->bases[i];
		f->owner = x->addr;
		if (x->kind == ND_BASE_ARRAY && (x->flags & ND_F_OWNDATA)) {
			nd_buf_printf(b, "view of 0x%" PRIx64, x->addr);
			return;
		}
		if (x->kind != ND_BASE_ARRAY) {
			f->via_object = true;
			f->owner_len = x->len;
			nd_buf_puts(b, "wraps ");
			nd_buf_puts_safe(b, x->type);
			if (x->kind == ND_BASE_MEMORYVIEW && x->obj_type &&
			    x->obj_type[0]) {
				nd_buf_puts(b, " of ");
				nd_buf_puts_safe(b, x->obj_type);
			}
			return;
		}
	}
	/* no owner object: memory it was handed (malloc'd, a C buffer) */
	f->via_object = true;
	f->owner = a->data;
	nd_buf_printf(b, "borrows 0x%" PRIx64, a->data);
}

static void text_line(struct target *t, const struct nd_array *a,
		      struct found *f, struct nd_buf *b)
{
	struct nd_region mem;
	struct nd_buf owner = {0}, dt = {0}, shape = {0};
	char size[32];

	owner_of(a, f, &owner);
	target_region(t, a->data, &mem);
	nd_dtype_str(a->dtype, &dt);
	nd_buf_ints(&shape, a->shape, a->ndim, ND_STYLE_PY);
	cli_human_size((uint64_t)a->nbytes, size, sizeof(size));
	nd_buf_printf(b, "0x%-14" PRIx64 "  ", a->addr);
	size_t at = b->len;
	nd_buf_puts_safe(b, a->type_name);
	if (b->len - at < 18)
		nd_buf_spaces(b, 18 - (b->len - at));
	nd_buf_printf(b, "  %-10s  %-18s  %10s  %-30s  %s\n", nd_buf_str(&dt),
		      nd_buf_str(&shape), size, nd_buf_str(&owner), mem.kind);
	nd_buf_free(&owner);
	nd_buf_free(&dt);
	nd_buf_free(&shape);
}

static int add(struct list_state *s, const struct found *f)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		struct found *p = realloc(s->f, cap * sizeof(*p));
		if (!p)
			return -1;
		s->f = p;
		s->cap = cap;
	}
	s->f[s->n++] = *f;
	return 0;
}

/* Element sizes of descrs seen, by address: a few distinct dtypes serve
 * most arrays. */
#define ELSIZE_SLOTS 256
struct elsize_memo {
	uint64_t descr[ELSIZE_SLOTS];
	int64_t elsize[ELSIZE_SLOTS];
};

/* Whether a candidate may reach min bytes, from its shape and its descr's
 * itemsize alone. Only a guess (nothing is validated): a candidate
 * guessed small is not printed, one guessed large is decoded in full. */
static bool maybe_large(struct nd_ctx *c, uint64_t addr, int64_t min,
			struct elsize_memo *m)
{
	const struct nd_nplayout *L = c->np;
	unsigned char h[128];
	int64_t dims[ND_MAXDIMS], size = 1, elsize = 0;
	uint64_t dptr, descr;
	int32_t nd;

	if (c->rd.read(c->rd.ctx, addr, h, (size_t)L->arr_flags + 4))
		return false;
	memcpy(&nd, h + L->arr_nd, 4);
	memcpy(&dptr, h + L->arr_dims, 8);
	memcpy(&descr, h + L->arr_descr, 8);
	if (nd < 0 || nd > L->maxdims ||
	    (nd && c->rd.read(c->rd.ctx, dptr, dims, (size_t)nd * 8)))
		return false;
	for (int i = 0; i < nd; i++)
		if (dims[i] < 0 || __builtin_mul_overflow(size, dims[i], &size))
			return true;
	size_t slot = (descr >> 4) % ELSIZE_SLOTS;
	if (m->descr[slot] == descr) {
		elsize = m->elsize[slot];
	} else {
		unsigned char v[8] = {0};
		if (c->rd.read(c->rd.ctx, descr + (uint64_t)L->d_elsize, v,
			       (size_t)L->d_elsize_size))
			return true;
		memcpy(&elsize, v, 8);
		if (L->d_elsize_size == 4)
			elsize = (int32_t)elsize;
		m->descr[slot] = descr;
		m->elsize[slot] = elsize;
	}
	int64_t nbytes;
	return __builtin_mul_overflow(size, elsize, &nbytes) || nbytes >= min;
}

static int by_size(const void *x, const void *y)
{
	const struct found *a = x, *b = y;

	if (a->nbytes != b->nbytes)
		return a->nbytes > b->nbytes ? -1 : 1;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

static int by_owner(const void *x, const void *y)
{
	const struct found *a = x, *b = y;

	return a->owner < b->owner ? -1 : a->owner > b->owner;
}

/* arrays, bytes owned by arrays, bytes reached only through views of
 * other objects, distinct buffers */
static void summary(struct list_state *s, struct nd_buf *b)
{
	uint64_t owned = 0, viewed = 0, buffers = 0;
	char x[32], y[32];

	qsort(s->f, s->n, sizeof(*s->f), by_owner);
	for (size_t i = 0; i < s->n;) {
		size_t j = i;
		uint64_t extent = 0;
		bool owned_by_array = false;
		int64_t len = -1;
		for (; j < s->n && s->f[j].owner == s->f[i].owner; j++) {
			owned_by_array |= !s->f[j].via_object;
			extent = s->f[j].nbytes > extent ? s->f[j].nbytes : extent;
			if (s->f[j].owns)
				owned += s->f[j].nbytes;
			if (s->f[j].owner_len > len)
				len = s->f[j].owner_len;
		}
		if (!owned_by_array)
			viewed += len >= 0 ? (uint64_t)len : extent;
		buffers++;
		i = j;
	}
	cli_human_size(owned, x, sizeof(x));
	cli_human_size(viewed, y, sizeof(y));
	nd_buf_printf(b, "%zu arrays; %s owned by arrays, %s reached only "
			 "through views of other objects; %" PRIu64
			 " distinct buffers\n",
		      s->n, x, y, buffers);
}

static bool within(uint64_t at, const void *src, size_t n, uint64_t addr,
		   void *buf, size_t len)
{
	if (addr < at || addr - at > n || len > n - (addr - at))
		return false;
	memcpy(buf, (const char *)src + (addr - at), len);
	return true;
}

static int overlay_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct overlay *o = ctx;
	const struct snap *s = o->s;
	size_t dlen = (size_t)s->nd * 8;

	if (within(s->addr, s->hdr, o->hlen, addr, buf, len) ||
	    (s->nd && (within(s->dims_at, s->dims, dlen, addr, buf, len) ||
		       within(s->strides_at, s->strides, dlen, addr, buf, len))))
		return 0;
	return o->mem->read(o->mem, addr, buf, len);
}

/* The target as it is now, past the page cache: the cache passes batched
 * reads straight through, so one iov is one fresh read. */
struct passthrough {
	struct mem m;
	struct mem *cached;
};

static int pass_read(struct mem *m, uint64_t addr, void *buf, size_t len)
{
	struct passthrough *p = (struct passthrough *)m;
	struct mem_iov v = {addr, buf, len, 0};

	return p->cached->readv(p->cached, &v, 1) == 1 ? 0 : -EFAULT;
}

static size_t pass_readv(struct mem *m, struct mem_iov *iov, size_t n)
{
	struct passthrough *p = (struct passthrough *)m;

	return p->cached->readv(p->cached, iov, n);
}

static void pass_close(struct mem *m)
{
	(void)m; /* the target's memory is closed with the target */
}

/* The snap of the candidate at addr, read through c. */
static int take_snap(struct nd_ctx *c, uint64_t addr, struct snap *s)
{
	const struct nd_nplayout *L = c->np;
	int32_t nd;

	s->addr = addr;
	if (nd_read(c, addr, s->hdr, (size_t)L->arr_flags + 4, NULL, "ndarray"))
		return -1;
	memcpy(&nd, s->hdr + L->arr_nd, 4);
	memcpy(&s->dims_at, s->hdr + L->arr_dims, 8);
	memcpy(&s->strides_at, s->hdr + L->arr_strides, 8);
	if (nd < 0 || nd > L->maxdims)
		return -1;
	s->nd = nd;
	if (nd && (nd_read(c, s->dims_at, s->dims, (size_t)nd * 8, NULL,
			   "dims") ||
		   nd_read(c, s->strides_at, s->strides, (size_t)nd * 8, NULL,
			   "strides")))
		return -1;
	return 0;
}

/* Keeps a snap for printing: header, dims, strides, packed. */
static const unsigned char *keep_snap(struct list_state *ls, size_t hlen,
				      const struct snap *s)
{
	size_t dlen = (size_t)s->nd * 8;
	unsigned char *p = nd_arena_alloc(&ls->snaps, hlen + 2 * dlen);

	if (p) {
		memcpy(p, s->hdr, hlen);
		memcpy(p + hlen, s->dims, dlen);
		memcpy(p + hlen + dlen, s->strides, dlen);
	}
	return p;
}

/* A kept snap back in a struct snap for the overlay. */
static void load_snap(const struct nd_nplayout *L, uint64_t addr,
		      const unsigned char *p, struct snap *s)
{
	size_t hlen = (size_t)L->arr_flags + 4;
	int32_t nd;

	s->addr = addr;
	memcpy(s->hdr, p, hlen);
	memcpy(&nd, p + L->arr_nd, 4);
	s->nd = nd;
	memcpy(&s->dims_at, p + L->arr_dims, 8);
	memcpy(&s->strides_at, p + L->arr_strides, 8);
	memcpy(s->dims, p + hlen, (size_t)nd * 8);
	memcpy(s->strides, p + hlen + (size_t)nd * 8, (size_t)nd * 8);
}

/* How often a running target's array is read before it counts as changing
 * too fast to be reported. */
#define TRIES 3

/* How candidates are read: their snaps through a small page cache of
 * their own (or, when taken again, fresh), decoded through the overlay.
 * What else a decode reads (dtypes, types, bases) goes through the
 * target's page cache, which is big: it must still hold all of that when
 * the lines are printed after the pause, or they would mix the paused
 * target with the running one. Headers, read once each into the snaps,
 * would only crowd it. */
struct reading {
	struct nd_ctx snapc, over, fresh;
	struct passthrough pass;
	struct mem *snapmem;
	struct overlay ov;
	struct snap sn;
	int tries; /* 1 while paused or from a core: nothing moves */
};

#define SNAP_CACHE_PAGES 2048

static void reading_init(struct reading *r, struct target *t, bool running)
{
	r->pass = (struct passthrough){
		.m = {.read = pass_read, .readv = pass_readv,
		      .close = pass_close, .how = t->mem->how},
		.cached = t->mem};
	r->snapmem = mem_cache_wrap(&r->pass.m, SNAP_CACHE_PAGES);
	r->snapc = t->ctx;
	r->snapc.rd = (struct nd_reader){.read = mem_read_cb,
					 .readv = mem_readv_cb,
					 .ctx = r->snapmem};
	r->ov = (struct overlay){.mem = t->mem, .s = &r->sn,
				 .hlen = (size_t)t->ctx.np->arr_flags + 4};
	r->over = t->ctx;
	r->over.rd = (struct nd_reader){.read = overlay_read, .ctx = &r->ov};
	r->fresh = t->ctx;
	r->fresh.rd = (struct nd_reader){.read = mem_read_cb,
					 .readv = mem_readv_cb,
					 .ctx = &r->pass.m};
	r->tries = running ? TRIES : 1;
}

static void reading_free(struct reading *r)
{
	r->snapmem->close(r->snapmem);
}

/* Reads the candidate at addr into a (free it whatever the result): 0 an
 * array, 1 one that kept changing while it was read, -1 not an array. In
 * a running target a snap may mix two states of an array, and what looks
 * like garbage may be one caught mid-change: after a decode its header is
 * read again past the cache, and on any difference (or failure) the snap
 * is taken again, fresh. */
static int read_candidate(struct reading *r, uint64_t addr,
			  struct nd_array *a)
{
	int got = -1;

	a->arena = (struct nd_arena){0};
	for (int try = 1; try <= r->tries; try++) {
		nd_array_free(a);
		if (take_snap(try == 1 ? &r->snapc : &r->fresh, addr, &r->sn) ||
		    nd_array_decode(&r->over, addr, a, NULL)) {
			got = -1;
			continue;
		}
		if (r->tries == 1 || nd_array_unchanged(&r->fresh, a))
			return 0;
		got = 1;
	}
	return got;
}

/* While paused (or not, with --no-pause): reads each candidate; those
 * that decode are arrays, kept with their snaps. */
static int validate_all(struct target *t, const struct scan *sc,
			const struct list_opts *o, bool running,
			struct list_state *s, struct nd_err *e)
{
	struct elsize_memo *memo = calloc(1, sizeof(*memo));
	struct reading r;
	int rc = memo ? 0 : nd_fail(e, ND_ENOMEM, "out of memory");

	reading_init(&r, t, running);
	for (size_t i = 0; i < sc->ncand && !rc; i++) {
		struct nd_array a;
		struct found f = {.addr = sc->cand[i]};
		if (o->min_bytes > 0 &&
		    !maybe_large(&r.snapc, sc->cand[i], o->min_bytes, memo))
			continue;
		int got = read_candidate(&r, f.addr, &a);
		if (got == 0) {
			f.nbytes = (uint64_t)a.nbytes;
			if ((int64_t)f.nbytes >= o->min_bytes &&
			    (!(f.snap = keep_snap(s, r.ov.hlen, &r.sn)) ||
			     add(s, &f)))
				rc = nd_fail(e, ND_ENOMEM, "out of memory");
		} else if (got > 0) {
			s->unsteady++;
		} else {
			s->rejected++;
		}
		nd_array_free(&a);
	}
	reading_free(&r);
	free(memo);
	return rc;
}

/* After the pause: one line per array, sorted by size, decoded again from
 * its snap and the pages read while paused. */
static int print_all(struct target *t, const struct list_opts *o,
		     struct list_state *s)
{
	struct nd_buf b = {0};
	struct reading r;

	reading_init(&r, t, false);
	if (s->n)
		qsort(s->f, s->n, sizeof(*s->f), by_size);
	if (!o->json)
		nd_buf_printf(&b, "%-16s  %-18s  %-10s  %-18s  %10s  %-30s  %s\n",
			      "address", "type", "dtype", "shape", "size",
			      "owner", "memory");
	size_t kept = 0;
	int rc = 0;
	for (size_t i = 0; i < s->n && !rc; i++) {
		struct nd_array a;
		load_snap(t->ctx.np, s->f[i].addr, s->f[i].snap, &r.sn);
		if (nd_array_decode(&r.over, s->f[i].addr, &a, NULL) == 0) {
			if (o->json) {
				struct nd_region mem;
				target_region(t, a.data, &mem);
				nd_format_json(&a, &mem, NULL, &b, NULL);
			} else {
				text_line(t, &a, &s->f[i], &b);
			}
			s->f[kept++] = s->f[i];
		} else {
			/* its dtype or a base left the cache and is gone since */
			s->changed++;
		}
		nd_array_free(&a);
		if (b.len > (1 << 20)) {
			if (!cli_write_stdout(b.p, b.len))
				rc = -1;
			nd_buf_reset(&b);
		}
	}
	/* the summary counts what the table shows */
	s->n = kept;
	if (!rc && !o->json)
		summary(s, &b);
	if (!rc && !cli_write_stdout(b.p ? b.p : "", b.len))
		rc = -1;
	nd_buf_free(&b);
	reading_free(&r);
	return rc;
}

static uint64_t progress_t0;
static bool progress_on;

static void progress(uint64_t done, uint64_t total)
{
	static uint64_t last;
	uint64_t t = now_ns();

	if (!progress_on || t - progress_t0 < 1000000000ULL ||
	    t - last < 100000000ULL)
		return;
	last = t;
	char d[32], n[32];
	cli_human_size(done, d, sizeof(d));
	cli_human_size(total, n, sizeof(n));
	fprintf(stderr, "\rscanning memory: %s of %s (%d%%)\033[K", d, n,
		total ? (int)(100 * (double)done / (double)total) : 100);
}

int cmd_list(int argc, char **argv)
{
	struct list_opts o;
	struct nd_err e = {0};
	/* snaps: as many as there are arrays, not the default cap */
	struct list_state s = {.snaps.limit = SIZE_MAX};
	struct target t;
	struct freeze fz = {0};
	struct scan sc = {0};
	size_t ntypes = 0;
	int first = 0, status = EXIT_OK;

	if (parse(argc, argv, &o, &first, &e) ||
	    target_parse(argv[first], &e))
		return cli_error(&e);
	/* room for every page of dtypes, types and bases a listing of a big
	 * process reads (lazily); headers have their own cache (struct
	 * reading) */
	if (target_open(argv[first], &cli_target, 1 << 16, &t, &e))
		return cli_error(&e);
	o.pause = o.pause && t.pid; /* a core holds still by itself */
	uint64_t t0 = now_ns();
	progress_t0 = t0;
	progress_on = isatty(2);
	int rc = scan_target(&t, o.pause, &fz, progress, &sc, &ntypes, &e);
	int nthreads = fz.n;
	uint64_t t1 = now_ns();
	if (!rc)
		rc = validate_all(&t, &sc, &o, !o.pause && t.pid, &s, &e);
	size_t ncand = sc.ncand;
	scan_free(&sc); /* not needed for printing */
	uint64_t t2 = now_ns();
	if (o.pause)
		thaw_all(&fz);
	if (progress_on && t2 - t0 > 1000000000ULL)
		fputs("\r\033[K", stderr); /* the progress line goes away */
	if (!rc) {
		char paused[96] = "not paused";
		if (o.pause)
			snprintf(paused, sizeof paused,
				 "paused %.1f ms (%d thread%s%s)",
				 (double)fz.pause_ns / 1e6, nthreads,
				 nthreads == 1 ? "" : "s",
				 fz.not_stopped ? ", some did not stop in time"
						: "");
		cli_verbosef("%s: %zu array types; scanned %" PRIu64
			     " MiB in %" PRIu64 " regions in %.1f ms (%.2f GB/s, "
			     "%" PRIu64 " bytes unreadable); %zu candidates, %" PRIu64
			     " rejected, validated in %.1f ms; %s",
			     t.name, ntypes, sc.bytes >> 20, sc.regions,
			     (double)(t1 - t0) / 1e6,
			     (double)sc.bytes / (double)(t1 - t0 + 1),
			     sc.unreadable, ncand, s.rejected,
			     (double)(t2 - t1) / 1e6, paused);
		if (print_all(&t, &o, &s))
			rc = nd_fail(&e, ND_EIO, "cannot write the list");
		if (s.unsteady)
			fprintf(stderr,
				"ndspy: %" PRIu64 " array%s changed while read "
				"(%d tries each), left out; run without "
				"--no-pause\n",
				s.unsteady, s.unsteady == 1 ? "" : "s", TRIES);
		if (s.changed)
			fprintf(stderr,
				"ndspy: %" PRIu64 " array%s changed between the "
				"pause and printing, left out\n",
				s.changed, s.changed == 1 ? "" : "s");
	}
	if (rc)
		status = cli_error(&e);
	free(s.f);
	nd_arena_free(&s.snaps);
	target_close(&t);
	return status;
}
