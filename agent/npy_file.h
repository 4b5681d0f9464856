/* Writing a .npy file from a target in three steps: create (before the
 * target is touched: bad destinations fail early), save (while it is
 * paused: only into a file of our own), finish (after it runs again:
 * rename into place, or copy to a device or pipe that may be slow). */
#ifndef NDSPY_NPY_FILE_H
#define NDSPY_NPY_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "../decode/ctx.h"
#include "../decode/ndarray.h"
#include "mem.h"
#include "outfile.h"

struct npy_file {
	struct outfile out;
	int err; /* errno of the failed write */
	struct mem *mem;
	uint64_t written, total;
	uint64_t t0_ns, last_progress_ns;
	bool progress; /* stderr is a terminal */
};

/* Creates the temporary file now, so that an unwritable destination is
 * reported before the target is touched. */
int npy_file_create(struct npy_file *f, const char *path, struct nd_err *e);
/* Writes the array into our own file. */
int npy_file_save(struct npy_file *f, struct nd_ctx *c, struct mem *mem,
		  const struct nd_array *a, struct nd_err *e);
/* Puts the saved file where it was asked for. */
int npy_file_finish(struct npy_file *f, struct nd_err *e);
/* Closes everything and removes the temporary file if it is still there. */
void npy_file_abort(struct npy_file *f);

#endif
