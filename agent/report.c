/* The report files of watch and audit: which were asked for, the folded
 * stacks and the HTML page (text made here), the pprof profile
 * (report_pprof.c), each written whole and renamed into place. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report_pprof.h"
#include "spool.h"

/* agent/flame.html as bytes (the Makefile makes it): the page with its
 * script and style inline, and the marker the data replaces */
#include "flame_html.h"

#define DATA_MARKER "/*NDSPY_DATA*/"

bool report_option(struct report_files *r, int ch, const char *arg)
{
	if (ch < REPORT_OPT_FOLDED || ch > REPORT_OPT_HTML)
		return false;
	r->path[ch - REPORT_OPT_FOLDED] = arg;
	return true;
}

bool report_wanted(const struct report_files *r)
{
	for (int k = 0; k < REPORT_KINDS; k++)
		if (r->path[k])
			return true;
	return false;
}

int report_create(struct report_files *r, struct nd_err *e)
{
	for (int k = 0; k < REPORT_KINDS; k++) {
		if (!r->path[k])
			continue;
		if (outfile_create(&r->out[k], r->path[k], e)) {
			report_abort(r);
			return -1;
		}
		r->open[k] = true;
	}
	return 0;
}

void report_abort(struct report_files *r)
{
	for (int k = 0; k < REPORT_KINDS; k++)
		if (r->open[k]) {
			outfile_abort(&r->out[k]);
			r->open[k] = false;
		}
}

/* Site id's frames, outermost first, each through frame(); "[no Python
 * stack]" alone for none. */
static void each_frame(const struct report_in *in, uint32_t id,
		       struct nd_buf *b,
		       void (*frame)(struct nd_buf *b, const char *name,
				     bool first))
{
	const struct nd_pyframe *f;
	size_t n = report_frames(in, id, &f);
	struct nd_buf name = {0};

	if (!n) {
		report_frame_name(NULL, &name);
		frame(b, nd_buf_str(&name), true);
	}
	for (size_t i = n; i-- > 0;) {
		nd_buf_reset(&name);
		report_frame_name(&f[i], &name);
		frame(b, nd_buf_str(&name), i == n - 1);
	}
	b->oom |= name.oom;
	nd_buf_free(&name);
}

static void folded_frame(struct nd_buf *b, const char *name, bool first)
{
	if (!first)
		nd_buf_putc(b, ';');
	nd_buf_puts(b, name);
}

/* One line per stack holding live bytes. */
static void folded(const struct report_in *in, struct nd_buf *b)
{
	for (uint32_t id = 0; id < in->seen->nsites; id++) {
		struct site_count c = ledger_site(in->seen, id);
		if (!c.live_bytes)
			continue;
		each_frame(in, id, b, folded_frame);
		nd_buf_printf(b, " %" PRIu64 "\n", c.live_bytes);
	}
}

static void json_frame(struct nd_buf *b, const char *name, bool first)
{
	if (!first)
		nd_buf_puts(b, ", ");
	nd_buf_json_str(b, name, strlen(name));
}

/* The page's data (agent/flame.html reads it): the stacks holding live
 * bytes, outermost frame first. */
static void html_data(const struct report_in *in, struct nd_buf *b)
{
	uint64_t live = in->seen->bytes_allocated - in->seen->bytes_freed;
	const char *sep = "";

	nd_buf_puts(b, "{\"title\": ");
	nd_buf_json_str(b, in->title, strlen(in->title));
	nd_buf_printf(b, ", \"unit\": \"bytes\", \"total_bytes\": %" PRIu64
			 ", \"total_count\": %zu, \"stacks\": [",
		      live, in->seen->live.n);
	for (uint32_t id = 0; id < in->seen->nsites; id++) {
		struct site_count c = ledger_site(in->seen, id);
		if (!c.live_bytes)
			continue;
		nd_buf_printf(b, "%s\n{\"frames\": [", sep);
		each_frame(in, id, b, json_frame);
		nd_buf_printf(b, "], \"bytes\": %" PRIu64 ", \"count\": %" PRIu64
				 "}",
			      c.live_bytes, c.live_n);
		sep = ",";
	}
	nd_buf_puts(b, "]}");
}

/* The page: the template with the data at its marker. '<' only occurs in
 * the data's strings, written \u003c there, so no name can close the
 * script element that holds them. */
static void html(const struct report_in *in, struct nd_buf *b)
{
	struct nd_buf data = {0};
	const char *page = (const char *)flame_html;
	const char *at = strstr(page, DATA_MARKER);

	html_data(in, &data);
	if (!at || data.oom) {
		b->oom = true;
		nd_buf_free(&data);
		return;
	}
	nd_buf_add(b, page, (size_t)(at - page));
	for (size_t i = 0; i < data.len; i++)
		if (data.p[i] == '<')
			nd_buf_puts(b, "\\u003c");
		else
			nd_buf_putc(b, data.p[i]);
	nd_buf_puts(b, at + strlen(DATA_MARKER));
	nd_buf_free(&data);
}

static int write_one(struct report_files *r, int k, const struct report_in *in,
		     struct nd_err *e)
{
	struct nd_buf b = {0};
	int rc = 0;

	if (k == REPORT_FOLDED)
		folded(in, &b);
	else if (k == REPORT_HTML)
		html(in, &b);
	else
		rc = report_pprof(in, &b, e);
	if (!rc && b.oom)
		rc = nd_fail(e, ND_ENOMEM, "%s: out of memory", r->path[k]);
	if (!rc && write_all(r->out[k].fd, b.p, b.len))
		rc = nd_fail(e, ND_EIO, "cannot write %.200s: %s", r->path[k],
			     strerror(errno));
	nd_buf_free(&b);
	if (!rc)
		rc = outfile_finish(&r->out[k], e);
	outfile_abort(&r->out[k]);
	r->open[k] = false;
	return rc;
}

int report_finish(struct report_files *r, const struct report_in *in,
		  struct nd_err *e)
{
	int rc = 0;

	for (int k = 0; k < REPORT_KINDS; k++) {
		struct nd_err one = {0};
		if (!r->open[k])
			continue;
		if (write_one(r, k, in, &one) && !rc) {
			*e = one;
			rc = -1;
		} else if (one.code) {
			fprintf(stderr, "ndspy: %s\n", one.msg);
		}
	}
	return rc;
}
