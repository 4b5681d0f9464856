#include "frameplace.h"

#include <inttypes.h>

#define OWNED_BY_GENERATOR 1 /* the same in 3.11-3.15 */

bool nd_frame_is_shim(const struct nd_pylayout *P, uint8_t owner)
{
	return P->frame_repr == ND_FRAME_INTERP &&
	       (owner == P->owner_cstack ||
		(P->owner_interpreter >= 0 && owner >= P->owner_interpreter));
}

int nd_frame_place(const struct nd_pylayout *P, const struct nd_rawframe *r,
		   int32_t firsttraceable, int *addr, struct nd_err *e)
{
	int64_t off;

	if (P->frame_repr == ND_FRAME_OBJECT) {
		int32_t lasti = (int32_t)r->instr;
		/* 3.9 counts bytes, 3.10 code units */
		off = P->minor == 9 ? lasti : (int64_t)lasti * 2;
	} else {
		off = (int64_t)(r->instr - (r->code + (uint64_t)P->co_code_adaptive));
		if (r->owner != OWNED_BY_GENERATOR && off >= -2 &&
		    off / 2 < firsttraceable)
			return 1;
	}
	if (off < -2 || off > INT32_MAX)
		return nd_fail(e, ND_ECORRUPT, "frame of code 0x%" PRIx64
			       ": instruction offset %" PRId64 " is outside "
			       "its code", r->code, off);
	*addr = (int)off;
	return 0;
}

enum nd_lines_repr nd_frame_lines(const struct nd_pylayout *P)
{
	return P->minor == 9 ? ND_LINES_LNOTAB
	       : P->minor == 10 ? ND_LINES_310 : ND_LINES_LOCATIONS;
}

