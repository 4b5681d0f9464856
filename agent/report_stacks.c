/* A report's stacks as every format names them: site id's frames, and
 * "function (file:line)" with the folded format's separators replaced. */
#include "report_stacks.h"

size_t report_frames(const struct report_in *in, uint32_t id,
		     const struct nd_pyframe **f)
{
	if (!id || !in->sites || id >= in->sites->n) {
		*f = NULL;
		return 0;
	}
	*f = in->sites->s[id].f;
	return in->sites->s[id].n;
}

/* Text from the target in a line-based format: the separators of the
 * folded format (';', and the space before the count is the last one, so
 * spaces may stay) and control characters replaced. */
static void put_clean(struct nd_buf *b, const char *s)
{
	for (; *s; s++)
		nd_buf_putc(b, *s == ';' ? ':' : (unsigned char)*s < 0x20 ? '?'
								  : *s);
}

void report_frame_name(const struct nd_pyframe *f, struct nd_buf *b)
{
	if (!f) {
		nd_buf_puts(b, SITES_NO_STACK);
		return;
	}
	put_clean(b, sites_function(f));
	nd_buf_puts(b, " (");
	put_clean(b, f->file);
	if (f->line >= 0)
		nd_buf_printf(b, ":%d", f->line);
	nd_buf_putc(b, ')');
}
