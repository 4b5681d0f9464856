/* A core file as a target: its memory (PT_LOAD segments, and for the pages
 * the dump left out the files it names in NT_FILE), its map, its threads. */
#ifndef NDSPY_CORE_H
#define NDSPY_CORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/procfs.h>
#include <sys/types.h>
#include <sys/user.h>

#include "../decode/err.h"
#include "maps.h"
#include "mem.h"

struct core_seg {
	uint64_t vaddr, memsz, offset, filesz;
	uint32_t flags; /* PF_R | PF_W | PF_X */
};

/* One NT_FILE entry: a file-backed mapping. */
struct core_map {
	uint64_t start, end, offset; /* offset in bytes */
	size_t file;                 /* index into core.files */
};

/* A file the process had mapped, opened when a read first needs it. */
struct core_file {
	char *path;    /* as the core names it, " (deleted)" removed */
	bool deleted;
	uint64_t head;  /* where it was mapped at offset 0 (its ELF header),
			 * or UINT64_MAX */
	int fd;        /* -1: not opened (yet, or it failed: see tried) */
	struct core_file_tried {
		struct nd_err err;
		char resolved[4200];
	} *tried;      /* made when first opened: NT_FILE may name many */
};

struct core_thread {
	pid_t tid;
	int cursig;
	struct user_regs_struct regs;
};

struct core {
	struct mem m; /* first: the core is its own memory source */
	int fd;
	uint64_t size;
	const unsigned char *image; /* the whole file, read-only; or NULL */
	int cleanup;               /* slot of the SIGBUS guard of image */
	char sigbus_msg[4200];
	char path[4096];
	const char *sysroot, *exe; /* --sysroot, --exe; NULL when not given */
	struct core_seg *seg;      /* sorted by vaddr */
	size_t nseg;
	struct core_map *map;      /* sorted by start */
	size_t nmap;
	struct core_file *files;
	size_t nfiles;
	struct core_thread *thr;   /* in the order of the core's notes */
	size_t nthr;
	pid_t pid;
	char fname[17];            /* the command, from NT_PRPSINFO */
	struct elf_prpsinfo ps;    /* all of it (zero when it had none) */
	uint64_t at_entry, at_sysinfo_ehdr, at_execfn; /* from NT_AUXV */
	unsigned char *auxv;       /* NT_AUXV as written */
	size_t auxv_len;
	/* an ndspy snapshot (snapshot_file.h): its map as the process had
	 * it; memory it did not capture is unreadable, not the files' */
	bool snapshot;
	struct maps smaps;
	pthread_mutex_t lock;      /* opening files from the scan threads */
};

/* Opens and checks a core file (an x86-64 ELF core, not truncated, with
 * its notes); sysroot and exe (may be NULL) say where its files are. */
int core_open(const char *path, const char *sysroot, const char *exe,
	      struct core **out, struct nd_err *e);
/* The process's memory map as the core records it. */
int core_maps(struct core *c, struct maps *m, struct nd_err *e);
/* The executable's path as the core names it ("" when unknown). */
const char *core_exe_path(const struct core *c);
/* Opens the file behind region r (a dup the caller closes), checked
 * against the core's copy of its first page. */
int core_file_open(struct core *c, const struct region *r, char *resolved,
		   size_t cap, int *fd, struct nd_err *e);
/* The NT_FILE mapping holding addr, or NULL. */
const struct core_map *core_map_at(const struct core *c, uint64_t addr);
/* Frees all of it. */
void core_free(struct core *c);
/* mem_core.c: c as a memory source; closing it frees the core. */
struct mem *core_mem(struct core *c);

#endif
