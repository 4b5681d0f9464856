/* Reading the target through the context's callback: every read bounded
 * and checked, every failure an error that names what was read and where. */
#ifndef ND_READ_H
#define ND_READ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ctx.h"

/* Reads len bytes at addr; on failure the message names what was read,
 * and says so when the bytes were not captured while the target was
 * paused (a sealed snapshot), rather than unreadable in the target. */
int nd_read(struct nd_ctx *c, uint64_t addr, void *buf, size_t len,
	    struct nd_err *e, const char *what);
int nd_read_u64(struct nd_ctx *c, uint64_t addr, uint64_t *v,
		struct nd_err *e, const char *what);
/* A 64- or 32-bit word at byte off of bytes already read (any
 * alignment). */
static inline uint64_t nd_u64_at(const void *buf, size_t off)
{
	uint64_t v;

	memcpy(&v, (const unsigned char *)buf + off, sizeof(v));
	return v;
}

static inline uint32_t nd_u32_at(const void *buf, size_t off)
{
	uint32_t v;

	memcpy(&v, (const unsigned char *)buf + off, sizeof(v));
	return v;
}

/* A NUL-terminated string of at most cap-1 bytes, read without crossing into
 * a page it does not need; longer ones fail with ND_ELIMIT (out holds their
 * first cap-1 bytes). */
int nd_read_cstr(struct nd_ctx *c, uint64_t addr, char *out, size_t cap,
		 struct nd_err *e, const char *what);

#endif
