#include "locate.h"

#include <inttypes.h>
#include <string.h>

#include "../decode/pypath.h"
#include "cli.h"
#include "symbols.h"
#include "target.h"

/* The address spec names. A symbol may be the array itself or a pointer
 * to it: *pointer_ok says so. */
static int locate(struct target *t, const char *spec, uint64_t *addr,
		  bool *pointer_ok, struct nd_err *e)
{
	*pointer_ok = false;
	if (spec[0] >= '0' && spec[0] <= '9')
		return cli_parse_address(spec, addr, e);
	if (spec[0] == '@') {
		*pointer_ok = true;
		return symbol_address(t, spec + 1, addr, e);
	}
	if (strncmp(spec, "frame:", 6) == 0)
		return nd_path_frame(&t->ctx, t->frames, t->nframes, spec, addr,
				     e);
	return nd_py_resolve(&t->ctx, t->rt.runtime_addr, spec, addr, e);
}

int locate_array(struct target *t, const char *spec, struct nd_array *a,
		 struct nd_err *e)
{
	uint64_t addr, ptr;
	bool pointer_ok;

	*a = (struct nd_array){0};
	if (locate(t, spec, &addr, &pointer_ok, e))
		return -1;
	a->addr = addr;
	if (!target_find(t, addr))
		return nd_fail_at(e, ND_EREAD, addr, "0x%" PRIx64 ": address "
				  "not mapped in %s", addr, t->name);
	struct nd_err first = {0};
	if (!nd_array_decode(&t->ctx, addr, a, &first))
		return 0;
	/* a C global may hold the array's address rather than be it */
	nd_array_free(a);
	if (pointer_ok && t->mem->read(t->mem, addr, &ptr, sizeof(ptr)) == 0 &&
	    !nd_array_decode(&t->ctx, ptr, a, NULL))
		return 0;
	nd_array_free(a);
	*a = (struct nd_array){.addr = addr};
	return nd_fail_at(e, first.code, first.addr, "%s: %s", spec, first.msg);
}
