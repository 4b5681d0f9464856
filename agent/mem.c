/* The decoder's read callbacks (decode/ctx.h) over any memory source. */
#include "mem.h"

#include <errno.h>

#include "../decode/ctx.h"

size_t mem_readv_each(struct mem *m, struct mem_iov *iov, size_t n)
{
	size_t ok = 0;

	for (size_t i = 0; i < n; i++) {
		iov[i].status = m->read(m, iov[i].addr, iov[i].buf, iov[i].len);
		ok += iov[i].status == 0;
	}
	return ok;
}

int mem_read_cb(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct mem *m = ctx;

	return m->read(m, addr, buf, len);
}

int mem_readv_cb(void *ctx, struct nd_iov *iov, size_t n)
{
	struct mem *m = ctx;
	struct mem_iov v[1024];
	size_t done = 0;

	while (done < n) {
		size_t k = n - done < 1024 ? n - done : 1024;
		for (size_t i = 0; i < k; i++)
			v[i] = (struct mem_iov){iov[done + i].addr, iov[done + i].buf,
						iov[done + i].len, 0};
		if (m->readv(m, v, k) != k)
			return -EFAULT;
		done += k;
	}
	return 0;
}
