/* Source line of a bytecode offset, from a code object's line table, as
 * CPython's PyCode_Addr2Line computes it (3.9-3.15). Pure: the caller copies
 * the table out of the target first. */
#ifndef ND_LINES_H
#define ND_LINES_H

#include <stddef.h>
#include <stdint.h>

enum nd_lines_repr {
	ND_LINES_LNOTAB,    /* 3.9: co_lnotab */
	ND_LINES_310,       /* 3.10: co_linetable (PEP 626 pairs) */
	ND_LINES_LOCATIONS, /* 3.11+: the location table */
};

/* addr: the instruction's byte offset into co_code (3.9 f_lasti; 3.10
 * 2*f_lasti; 3.11+ 2*code units). Sets *line and returns 0; *line is -1 where
 * the table gives the instruction no line (Python shows None), including an
 * addr past the table's end (3.10+). A negative addr (frame not started)
 * gives firstlineno. Returns -1 where CPython would read past the table
 * (truncated varint or pair), where the line leaves int range, and for an
 * unknown repr. Reads only table[0..len). */
int nd_addr2line(enum nd_lines_repr repr, int firstlineno,
		 const uint8_t *table, size_t len, int addr, int *line);

#endif
