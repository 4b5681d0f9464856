#include "err.h"

#include <stdarg.h>
#include <stdio.h>

int nd_fail(struct nd_err *e, int code, const char *fmt, ...)
{
	if (e && e->code == ND_OK) {
		va_list ap;

		e->code = code;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}

void nd_err_clear(struct nd_err *e)
{
	if (!e)
		return;
	e->code = ND_OK;
	e->msg[0] = '\0';
}
