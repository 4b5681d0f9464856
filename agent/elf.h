/* Symbols of a mapped ELF object (libelf): .dynsym, then .symtab, with the
 * load bias that turns a symbol's value into a target address. */
#ifndef NDSPY_ELF_H
#define NDSPY_ELF_H

#include <stdbool.h>
#include <stdint.h>

#include "../decode/err.h"
#include "maps.h"

struct elf_obj {
	int fd;
	void *elf; /* Elf * */
	uint64_t bias;
	char path[4200];
};

/* Opens the file behind the mapped object that contains region r and
 * computes its load bias from the lowest mapping of that file. */
struct target;
int elf_obj_open(const struct target *t, const struct region *r,
		 struct elf_obj *o, struct nd_err *e);
void elf_obj_close(struct elf_obj *o);
/* Link-time value of a defined symbol of an Elf * (.dynsym, then .symtab);
 * data_only: objects and untyped symbols, not functions. */
bool elf_symbol_value(void *elf, const char *name, bool data_only,
		      uint64_t *value, uint64_t *size);
/* The file offset of link-time address vaddr (in a PT_LOAD's file
 * bytes), or -1. */
int64_t elf_file_offset(void *elf, uint64_t vaddr);
/* The function (.symtab, then .dynsym) whose extent holds link-time
 * address vaddr: its name and vaddr's offset into it. */
bool elf_function_at(void *elf, uint64_t vaddr, char *name, size_t cap,
		     uint64_t *off);
/* Target address of a defined symbol; false when absent. */
bool elf_obj_symbol(struct elf_obj *o, const char *name, uint64_t *addr,
		    uint64_t *size);

#endif
