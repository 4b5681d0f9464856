/* @SYMBOL and @OBJFILE:SYMBOL: an ELF symbol of a mapped object (its
 * .dynsym, its .symtab, or the .symtab of its separate debug file found
 * by build-id or .gnu_debuglink), as a target address. */
#ifndef NDSPY_SYMBOLS_H
#define NDSPY_SYMBOLS_H

#include <stdint.h>
#include <sys/types.h>

#include "../decode/err.h"
#include "maps.h"

struct target;

/* spec is "SYMBOL" or "OBJFILE:SYMBOL"; OBJFILE matches a mapped file's
 * base name, or its start (libfoo matches libfoo.so.1). */
int symbol_address(const struct target *t, const char *spec,
		   uint64_t *addr, struct nd_err *e);

/* The function holding a code address, as ELF symbols name it (the
 * object's, or its debug file's): object is always filled (the mapped
 * path, or "" when unmapped), function only when found. */
struct native_symbol {
	char object[4200];
	char function[512];
	uint64_t offset;
};
int symbol_at(const struct target *t, uint64_t addr,
	      struct native_symbol *out);

#endif
