/* Writing a .npy file from a target: a temporary file beside the
 * destination, renamed into place only when complete. */
#ifndef NDSPY_NPY_FILE_H
#define NDSPY_NPY_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "../decode/ctx.h"
#include "../decode/ndarray.h"
#include "mem.h"

struct npy_file {
	char path[4096], tmp[4200];
	int fd;
	int err; /* errno of the failed write */
	int cleanup; /* slot removing tmp on a signal */
	struct mem *mem;
	uint64_t written, total;
	uint64_t t0_ns, last_progress_ns;
	bool progress; /* stderr is a terminal */
};

/* Creates the temporary file now, so that an unwritable destination is
 * reported before the target is touched. */
int npy_file_create(struct npy_file *f, const char *path, struct nd_err *e);
/* Writes the array and renames the file into place. */
int npy_file_save(struct npy_file *f, struct nd_ctx *c, struct mem *mem,
		  const struct nd_array *a, struct nd_err *e);
/* Removes the temporary file if it is still there. */
void npy_file_abort(struct npy_file *f);

#endif
