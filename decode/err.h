/* Errors as values: a code for the caller's decision (exit status, retry) and a
 * sentence for the user. Every fallible function returns 0 or -code. */
#ifndef ND_ERR_H
#define ND_ERR_H

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
	char msg[320];
};

/* Records code and message in e (if non-NULL) and returns -code. The first
 * failure wins: a later, more generic failure does not overwrite it. */
int nd_fail(struct nd_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Forgets a recorded error (if e is non-NULL), for callers that tried an
 * alternative. */
void nd_err_clear(struct nd_err *e);

#endif
