/* A snapshot written as an ELF core file (`ndspy snapshot`): the pages it
 * kept, one PT_LOAD per run of them, and the notes a core has (NT_PRSTATUS
 * per thread with its registers, NT_PRPSINFO, NT_AUXV, NT_FILE), so that
 * gdb and ndspy open it as any core. What it keeps is the 64-byte lines
 * the snapshot kept: runs of them, not whole pages (PT_LOADs are aligned
 * to 64 bytes). Read-only file mappings are left to the files (as gcore
 * does), but for the first page of each file mapped at offset 0, which a
 * reader checks the file against.
 *
 * One more note, "NDSPY" type SNAPSHOT_NOTE_MAPS, says it is a snapshot
 * and holds the target's map as it was: every region with its kind and
 * path, captured or not. A reader of a snapshot takes its map from there,
 * and reads outside the pages and the read-only files fail as "not
 * captured" rather than falling back to a file's bytes. */
#ifndef NDSPY_SNAPSHOT_FILE_H
#define NDSPY_SNAPSHOT_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "../decode/err.h"
#include "maps.h"
#include "snapshot.h"

#define SNAPSHOT_NOTE_NAME "NDSPY"
#define SNAPSHOT_NOTE_MAPS 0x4e440001u

struct snapshot_thread {
	pid_t tid;
	int sig; /* the signal it stopped with, 0 for none */
	struct user_regs_struct regs;
};

/* What the file says of the process besides its pages. */
struct snapshot_meta {
	pid_t pid, ppid;
	uid_t uid;
	gid_t gid;
	char comm[16];     /* NT_PRPSINFO's pr_fname */
	char args[80];     /* and pr_psargs */
	const unsigned char *auxv;
	size_t auxv_len;
	const struct maps *maps;
	const struct snapshot_thread *thr; /* the main thread first */
	size_t nthr;
};

/* Up to where the file keeps what was read of region r (see above). */
uint64_t snapshot_file_keeps(const struct region *r);
/* Writes the sealed snapshot s as a core into fd; *bytes: its size. */
int snapshot_file_write(int fd, const struct snapshot *s,
			const struct snapshot_meta *m, uint64_t *bytes,
			struct nd_err *e);
/* The map a SNAPSHOT_NOTE_MAPS note holds (desc, len bytes), into m. */
int snapshot_file_maps(const unsigned char *desc, size_t len, struct maps *m,
		       struct nd_err *e);

#endif
