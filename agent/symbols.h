/* @SYMBOL and @OBJFILE:SYMBOL: an ELF symbol of a mapped object (its
 * .dynsym, its .symtab, or the .symtab of its separate debug file found
 * by build-id or .gnu_debuglink), as a target address. */
#ifndef NDSPY_SYMBOLS_H
#define NDSPY_SYMBOLS_H

#include <stdint.h>
#include <sys/types.h>

#include "../decode/err.h"
#include "maps.h"

/* spec is "SYMBOL" or "OBJFILE:SYMBOL"; OBJFILE matches a mapped file's
 * base name, or its start (libfoo matches libfoo.so.1). */
int symbol_address(pid_t pid, const struct maps *m, const char *spec,
		   uint64_t *addr, struct nd_err *e);

#endif
