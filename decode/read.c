#include "read.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define PAGE 4096u

int nd_read(struct nd_ctx *c, uint64_t addr, void *buf, size_t len,
	    struct nd_err *e, const char *what)
{
	if (len == 0)
		return 0;
	if (addr == 0 || addr + len < addr)
		return nd_fail_at(e, ND_EREAD, addr, "%s at 0x%" PRIx64
				  ": bad address", what, addr);
	int rc = c->rd.read(c->rd.ctx, addr, buf, len);
	if (rc == -ENODATA)
		return nd_fail_at(e, ND_EREAD, addr, "%s at 0x%" PRIx64
				  ": not captured while paused", what, addr);
	if (rc != 0)
		return nd_fail_at(e, ND_EREAD, addr, "%s at 0x%" PRIx64
				  ": memory not readable", what, addr);
	return 0;
}

int nd_read_u64(struct nd_ctx *c, uint64_t addr, uint64_t *v,
		struct nd_err *e, const char *what)
{
	return nd_read(c, addr, v, sizeof(*v), e, what);
}

int nd_read_cstr(struct nd_ctx *c, uint64_t addr, char *out, size_t cap,
		 struct nd_err *e, const char *what)
{
	size_t got = 0;

	while (got + 1 < cap) {
		size_t want = PAGE - ((addr + got) % PAGE);
		if (want > cap - 1 - got)
			want = cap - 1 - got;
		if (nd_read(c, addr + got, out + got, want, e, what))
			return -1;
		if (memchr(out + got, '\0', want))
			return 0;
		got += want;
	}
	out[cap - 1] = '\0';
	return nd_fail_at(e, ND_ELIMIT, addr, "%s at 0x%" PRIx64
			  ": longer than %zu bytes", what, addr, cap - 1);
}
