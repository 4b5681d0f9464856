#include "err.h"

#include <stdarg.h>
#include <stdio.h>

static void record(struct nd_err *e, int code, uint64_t addr, const char *fmt,
		   va_list ap)
{
	if (!e || e->code != ND_OK)
		return;
	e->code = code;
	e->addr = addr;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

int nd_fail(struct nd_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(e, code, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int nd_fail_at(struct nd_err *e, int code, uint64_t addr, const char *fmt,
	       ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(e, code, addr, fmt, ap);
	va_end(ap);
	return -1;
}

int nd_err_take(struct nd_err *e, const struct nd_err *from)
{
	if (e && e->code == ND_OK)
		*e = *from;
	return -1;
}

void nd_err_clear(struct nd_err *e)
{
	if (!e)
		return;
	e->code = ND_OK;
	e->addr = 0;
	e->msg[0] = '\0';
}
