#ifndef NDSPY_FUZZ_EXERCISE_H
#define NDSPY_FUZZ_EXERCISE_H

#include "../../decode/ctx.h"
#include "image_file.h"

/* Decodes and formats what h names in c's memory; h->name must be
 * NUL-terminated. Results are dropped: only crashes, hangs and leaks
 * matter. */
void fuzz_exercise(struct nd_ctx *c, const struct fuzz_header *h);

#endif
