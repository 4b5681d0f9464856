#include "npy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyobj.h"
#include "values.h"

#define ARRAY_ALIGN 64
#define GROWTH_AXIS_MAX_DIGITS 21
#define CHUNK (4u << 20)

static bool fortran_order(const struct nd_array *a)
{
	return !(a->flags & ND_F_C_CONTIGUOUS) &&
	       (a->flags & ND_F_F_CONTIGUOUS);
}

/* The header text as UTF-8; latin1 tells whether it fits version 1/2. */
static void header_dict(const struct nd_array *a, struct nd_buf *h)
{
	bool fortran = fortran_order(a);

	nd_buf_puts(h, "{'descr': ");
	if (a->dtype->structured) {
		nd_dtype_descr_list(a->dtype, h, ND_STYLE_PY);
	} else {
		struct nd_buf ts = {0};
		nd_dtype_str(a->dtype, &ts);
		nd_buf_py_repr(h, nd_buf_str(&ts));
		nd_buf_free(&ts);
	}
	nd_buf_printf(h, ", 'fortran_order': %s, 'shape': (",
		      fortran ? "True" : "False");
	for (int i = 0; i < a->ndim; i++)
		nd_buf_printf(h, "%s%" PRId64, i ? ", " : "", a->shape[i]);
	nd_buf_puts(h, a->ndim == 1 ? ",), }" : "), }");
	if (a->ndim > 0) {
		char num[32];
		int n = snprintf(num, sizeof(num), "%" PRId64,
				 a->shape[fortran ? a->ndim - 1 : 0]);
		if (n < GROWTH_AXIS_MAX_DIGITS)
			nd_buf_spaces(h, (size_t)(GROWTH_AXIS_MAX_DIGITS - n));
	}
}

/* UTF-8 to latin-1 in place; false if a code point is above U+00FF. */
static bool to_latin1(struct nd_buf *h)
{
	size_t o = 0;
	unsigned char *s = (unsigned char *)h->p;

	for (size_t i = 0; i < h->len;) {
		if (s[i] < 0x80) {
			s[o++] = s[i++];
		} else if ((s[i] & 0xe0) == 0xc0 && i + 1 < h->len &&
			   ((s[i] & 0x1f) << 6 | (s[i + 1] & 0x3f)) < 0x100) {
			s[o++] = (unsigned char)((s[i] & 0x1f) << 6 |
						 (s[i + 1] & 0x3f));
			i += 2;
		} else {
			return false;
		}
	}
	h->len = o;
	return true;
}

int nd_npy_header(const struct nd_array *a, struct nd_buf *out,
		  struct nd_err *e)
{
	struct nd_buf h = {0}, copy = {0};

	if (nd_dtype_has_object(a->dtype))
		return nd_fail(e, ND_EUNSUPPORTED,
			       "object arrays cannot be saved: np.save would "
			       "pickle the objects, which cannot be done from "
			       "outside the process");
	if (a->dtype->type_num >= 2056)
		return nd_fail(e, ND_EUNSUPPORTED,
			       "dtype %c (type number %d) is not a legacy "
			       "dtype; np.save would pickle it",
			       a->dtype->kind, a->dtype->type_num);
	if (a->dtype->structured && !nd_dtype_descr_defined(a->dtype))
		return nd_fail(e, ND_EUNSUPPORTED,
			       "the structured dtype has overlapping or "
			       "out-of-order fields, which .npy cannot describe");
	header_dict(a, &h);
	nd_buf_add(&copy, h.p, h.len);
	int major = 1;
	if (!to_latin1(&h)) {
		major = 3;
		nd_buf_free(&h);
		h = copy;
		copy = (struct nd_buf){0};
	}
	size_t hlen = h.len + 1;
	size_t lensize = 2;
	if (major == 1) {
		size_t pad = ARRAY_ALIGN - ((8 + 2 + hlen) % ARRAY_ALIGN);
		if (hlen + pad > 0xffff)
			major = 2;
	}
	if (major != 1)
		lensize = 4;
	size_t pad = ARRAY_ALIGN - ((8 + lensize + hlen) % ARRAY_ALIGN);
	uint32_t total = (uint32_t)(hlen + pad);
	unsigned char prefix[12] = {0x93, 'N', 'U', 'M', 'P', 'Y',
				    (unsigned char)major, 0};
	memcpy(prefix + 8, &total, lensize);
	nd_buf_add(out, prefix, 8 + lensize);
	nd_buf_add(out, h.p, h.len);
	nd_buf_spaces(out, pad);
	nd_buf_putc(out, '\n');
	nd_buf_free(&h);
	nd_buf_free(&copy);
	return out->oom ? nd_fail(e, ND_ENOMEM, "out of memory") : 0;
}

static int sink_write(const struct nd_sink *s, const void *p, size_t n,
		      struct nd_err *e)
{
	int rc = s->write(s->ctx, p, n);

	return rc ? nd_fail(e, ND_EIO, "writing the .npy file failed") : 0;
}

/* Straight copy of one run of target memory, in chunks when the sink has
 * no fast path. */
static int copy_run(struct nd_ctx *c, const struct nd_sink *s, uint64_t addr,
		    uint64_t len, struct nd_err *e)
{
	if (s->copy) {
		int rc = s->copy(s->ctx, addr, (size_t)len);
		if (rc == -EFAULT || rc == -ENODATA)
			return nd_fail_at(e, ND_EREAD, addr,
					  "array data at 0x%" PRIx64 ": %s", addr,
					  rc == -ENODATA
						  ? "not captured while paused"
						  : "memory not readable");
		return rc ? nd_fail(e, ND_EIO, "writing the .npy file failed")
			  : 0;
	}
	unsigned char *buf = malloc(CHUNK);
	int rc = buf ? 0 : nd_fail(e, ND_ENOMEM, "out of memory");
	for (uint64_t off = 0; off < len && !rc; off += CHUNK) {
		size_t n = len - off < CHUNK ? (size_t)(len - off) : CHUNK;
		rc = nd_read(c, addr + off, buf, n, e, "array data");
		if (!rc)
			rc = sink_write(s, buf, n, e);
	}
	free(buf);
	return rc;
}

#define BATCH 1024 /* IOV_MAX: runs read per call */

/* Output being filled: runs queued for one batched read, then written. */
struct gather_out {
	struct nd_ctx *c;
	const struct nd_sink *s;
	unsigned char *buf;
	size_t used;
	struct nd_iov iov[BATCH];
	size_t niov;
};

static int flush_reads(struct gather_out *g, struct nd_err *e)
{
	struct nd_ctx *c = g->c;
	int rc = 0;

	if (c->rd.readv && g->niov > 1) {
		if (c->rd.readv(c->rd.ctx, g->iov, g->niov) != 0)
			rc = nd_fail(e, ND_EREAD, "array data: memory not readable");
	} else {
		for (size_t i = 0; i < g->niov && !rc; i++)
			rc = nd_read(c, g->iov[i].addr, g->iov[i].buf,
				     g->iov[i].len, e, "array data");
	}
	g->niov = 0;
	return rc;
}

static int flush_out(struct gather_out *g, struct nd_err *e)
{
	int rc = flush_reads(g, e);

	if (!rc && g->used)
		rc = sink_write(g->s, g->buf, g->used, e);
	g->used = 0;
	return rc;
}

/* Elements in C order. Trailing dimensions that are contiguous in memory
 * form one run. Dense arrays read through a large window; sparse ones
 * queue their runs and read up to 1024 of them per call. */
static int gather(struct nd_ctx *c, const struct nd_array *a,
		  const struct nd_sink *s, struct nd_err *e)
{
	int64_t run = a->dtype->elsize;
	int inner = a->ndim;
	int64_t idx[ND_MAXDIMS] = {0};
	struct gather_out *g = calloc(1, sizeof(*g));
	struct nd_items it;

	while (inner > 0 && a->strides[inner - 1] == run) {
		run *= a->shape[inner - 1];
		inner--;
	}
	nd_items_init(&it, c, a);
	int64_t span = a->extent_hi - a->extent_lo;
	bool dense = span / 16 <= a->nbytes;
	if (dense)
		it.cap = CHUNK;
	int rc = g && (g->buf = malloc(CHUNK)) ? 0
					       : nd_fail(e, ND_ENOMEM, "out of memory");
	if (g) {
		g->c = c;
		g->s = s;
	}
	int64_t runs = run ? a->nbytes / run : 0;
	for (int64_t r = 0; r < runs && !rc; r++) {
		uint64_t addr = a->data;
		for (int k = 0; k < inner; k++)
			addr += (uint64_t)idx[k] * (uint64_t)a->strides[k];
		for (int64_t off = 0; off < run && !rc;) {
			size_t n = (size_t)(run - off);
			if (n > CHUNK - g->used)
				n = CHUNK - g->used;
			if (dense && n <= CHUNK / 2) {
				rc = nd_items_read(&it, addr + (uint64_t)off,
						   g->buf + g->used, n, e);
			} else {
				g->iov[g->niov++] = (struct nd_iov){
					addr + (uint64_t)off, g->buf + g->used, n};
				if (g->niov == BATCH)
					rc = flush_reads(g, e);
			}
			g->used += n;
			off += (int64_t)n;
			if (!rc && g->used == CHUNK)
				rc = flush_out(g, e);
		}
		for (int k = inner - 1; k >= 0; k--) {
			if (++idx[k] < a->shape[k])
				break;
			idx[k] = 0;
		}
	}
	if (!rc)
		rc = flush_out(g, e);
	if (g)
		free(g->buf);
	free(g);
	nd_items_free(&it);
	return rc;
}

int nd_npy_write(struct nd_ctx *c, const struct nd_array *a,
		 const struct nd_sink *sink, struct nd_err *e)
{
	struct nd_buf h = {0};
	int rc = nd_npy_header(a, &h, e);

	if (!rc)
		rc = sink_write(sink, h.p, h.len, e);
	nd_buf_free(&h);
	if (rc || a->nbytes == 0)
		return rc;
	if (a->flags & (ND_F_C_CONTIGUOUS | ND_F_F_CONTIGUOUS))
		return copy_run(c, sink, a->data, (uint64_t)a->nbytes, e);
	return gather(c, a, sink, e);
}
