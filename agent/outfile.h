/* A file ndspy writes, in three steps: create (before the target is
 * touched: bad destinations fail early), write into fd, finish (after the
 * target runs again: rename into place, or copy to a device or pipe). */
#ifndef NDSPY_OUTFILE_H
#define NDSPY_OUTFILE_H

#include "../decode/err.h"

struct outfile {
	char path[4096], tmp[4200];
	int fd;      /* what is written: the temporary file, or a spool */
	int dest;    /* a device or pipe to copy the spool to; -1 otherwise */
	int cleanup; /* slot removing tmp on a signal */
};

/* Creates the temporary file (or the spool) for path. */
int outfile_create(struct outfile *f, const char *path, struct nd_err *e);
/* Puts what was written where it was asked for. */
int outfile_finish(struct outfile *f, struct nd_err *e);
/* Closes everything and removes the temporary file if it is still there;
 * safe to call twice. */
void outfile_abort(struct outfile *f);

#endif
