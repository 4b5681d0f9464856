/* What an OBJECT argument names: an address (decimal as id() prints it,
 * or 0x-hex), a path (MODULE.NAME or frame:TID:N.NAME, then .ATTR, [INT],
 * [KEY], {0xADDR} steps: decode/pypath.h; frame roots need t->frames), or
 * @[OBJFILE:]SYMBOL, an ELF symbol holding the array or a pointer to it. */
#ifndef NDSPY_LOCATE_H
#define NDSPY_LOCATE_H

#include "../decode/ndarray.h"

struct target;

/* The array spec names, decoded into a (free it whatever the result;
 * a->addr says which address was tried). */
int locate_array(struct target *t, const char *spec, struct nd_array *a,
		 struct nd_err *e);

#endif
