/* Errors as values: a code for the caller's decision (exit status, retry),
 * the address the failure is about, and a sentence for the user. Every
 * fallible function returns 0, or -1 with the error recorded (the memory
 * layer of agent/ alone returns -errno). */
#ifndef ND_ERR_H
#define ND_ERR_H

#include <stdint.h>

enum nd_errcode {
	ND_OK = 0,
	ND_EREAD,        /* target memory could not be read (unmapped, freed) */
	ND_ENOTARRAY,    /* readable, but not an ndarray */
	ND_ECORRUPT,     /* fields out of range: garbage, stale or hostile memory */
	ND_ELIMIT,       /* larger than the bounds we accept */
	ND_EUNSUPPORTED, /* valid, but something we cannot represent */
	ND_ENOMEM,
	ND_EIO,          /* the output sink failed */
	ND_EUSAGE,       /* the request itself is malformed */
	ND_ETARGET,      /* the target cannot be opened or is not Python+NumPy */
};

struct nd_err {
	int code;
	/* where it failed: the address a read could not reach, or the
	 * object found wanting; 0 when no address applies. Two failures are
	 * the same when code and address are, whatever the words. */
	uint64_t addr;
	char msg[320];
};

/* Records code and message in e (if non-NULL) and returns -1. The first
 * failure wins: a later, more generic failure does not overwrite it. */
int nd_fail(struct nd_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same, with the address the failure is about. */
int nd_fail_at(struct nd_err *e, int code, uint64_t addr, const char *fmt,
	       ...) __attribute__((format(printf, 4, 5)));

/* Passes an error recorded in a local one on to e (if non-NULL and still
 * clear); returns -1. */
int nd_err_take(struct nd_err *e, const struct nd_err *from);

/* Forgets a recorded error (if e is non-NULL), for callers that tried an
 * alternative. */
void nd_err_clear(struct nd_err *e);

#endif
