/* What `ndspy list` finds, from the target as read (its snapshot, or a
 * unit test's synthetic memory): which candidates of a scan are arrays,
 * what keeps each one's buffer alive, and the summary. No process and no
 * output here: cmd_list.c pauses, scans and prints. */
#ifndef NDSPY_LIST_MODEL_H
#define NDSPY_LIST_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../decode/buf.h"
#include "../decode/ndarray.h"
#include "steady.h"

struct list_entry {
	uint64_t addr;
	int64_t nbytes;
	/* what keeps its buffer (list_owner): an owning array, an object,
	 * or the data pointer itself when nothing owns it */
	uint64_t owner;
	int64_t owner_len; /* the owner's buffer length when not an array */
	bool owns, via_object;
	/* a running target's: a hash of the header, dims and strides it was
	 * validated from, which the decode for printing must find again */
	uint64_t state;
};

struct list_model {
	struct list_entry *e;
	size_t n, cap;
	uint64_t rejected; /* candidates that are not arrays */
	uint64_t unsteady; /* arrays that kept changing while read */
	uint64_t changed;  /* arrays not found again for printing */
	/* called with each array kept, as it was decoded (snapshot reads
	 * there what showing it needs); NULL: nothing */
	void (*each)(void *arg, const struct nd_array *a);
	void *each_arg;
};

/* Keeps each candidate (ascending addresses) that decodes through c as an
 * array of at least min_bytes; st says how a running target is read.
 * glance reads as c does without keeping what it reads: the guess that
 * spares decoding a candidate too small goes through it. */
int list_validate(struct list_model *m, struct nd_ctx *c,
		  struct nd_ctx *glance, struct steady *st,
		  const uint64_t *cand, size_t ncand, int64_t min_bytes,
		  struct nd_err *e);
/* Decodes entry f again into a (free it whatever the result): 0, or -1
 * when it is not what was validated any more. */
int list_decode_again(struct nd_ctx *c, const struct list_entry *f,
		      struct nd_array *a);
/* What keeps a's buffer alive into f, and the owner column into b: "owns
 * its data", "view of 0x..", "wraps bytes", "borrows 0x..". */
void list_owner(const struct nd_array *a, struct list_entry *f,
		struct nd_buf *b);
/* Largest first, then by address. */
void list_sort(struct list_model *m);
/* arrays; bytes owned by arrays; bytes reached only through views of other
 * objects; distinct buffers: of the entries whose owner is filled in.
 * Reorders the entries. */
void list_summary(struct list_model *m, struct nd_buf *b);
void list_model_free(struct list_model *m);

#endif
