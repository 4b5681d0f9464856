#include "steady.h"

#include <string.h>

#include "snapshot.h"

void steady_forget_all(void *snapshot, const struct nd_array *a)
{
	(void)a;
	snapshot_reset(snapshot);
}

void steady_forget_array(void *snapshot, const struct nd_array *a)
{
	const struct nd_arr_raw *r = &a->raw;

	snapshot_forget(snapshot, a->addr, ND_ARR_HEADER_MAX);
	if (r->type && r->nd > 0 && r->nd <= ND_MAXDIMS) {
		snapshot_forget(snapshot, r->dims, (size_t)r->nd * 8);
		snapshot_forget(snapshot, r->strides, (size_t)r->nd * 8);
	}
}

/* The address an attempt failed at and the object's raw state right
 * after. */
struct failure {
	int code;
	uint64_t addr, obj;
	unsigned char raw[ND_RAW_STATE_MAX];
	size_t len;
};

static bool same_failure(const struct failure *a, const struct failure *b)
{
	return a->code == b->code && a->addr == b->addr && a->obj == b->obj &&
	       a->len == b->len && memcmp(a->raw, b->raw, a->len) == 0;
}

enum steady_result steady_read(struct steady *st, steady_fn fn,
			       void *arg, int tries, struct nd_array *a,
			       struct nd_err *err, int *attempts)
{
	struct failure last = {0}, now;
	bool changing = false;

	for (int try = 1;; try++) {
		*attempts = try;
		int rc = fn(arg, a, err);
		if (!st->running)
			return rc ? STEADY_FAILED : STEADY_READ;
		if (!rc) {
			if (nd_array_unchanged(&st->now, a))
				return STEADY_READ;
			changing = true;
		} else {
			now = (struct failure){err->code, err->addr, a->addr};
			now.len = nd_array_raw_state(&st->now,
						     a->addr, now.raw);
			if (try > 1 && !changing && same_failure(&last, &now))
				return STEADY_FAILED; /* garbage, the same each time */
			changing = changing || try > 1;
			last = now;
		}
		if (changing && try >= tries)
			return STEADY_CHANGED;
		if (st->forget)
			st->forget(st->forget_arg, a);
		nd_array_free(a);
		memset(a, 0, sizeof(*a));
		nd_err_clear(err);
	}
}
