#include "files.h"

#include "core.h"
#include "fileio.h"
#include "target.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int try_open(const char *path, const struct region *r, int *fd,
		    int *inode_match)
{
	struct stat st;
	int f = open_regular(path);

	if (f < 0)
		return f;
	*inode_match = fstat(f, &st) == 0 && st.st_ino == r->inode;
	*fd = f;
	return 0;
}

int target_file_open(const struct target *t, const struct region *r,
		     char *resolved, size_t cap, int *fd, struct nd_err *e)
{
	pid_t pid = t->task;
	char cand[3][4200];
	int best = -1, best_fd = -1, first_err = 0;

	if (!r->path)
		return nd_fail(e, ND_ETARGET, "mapping at 0x%llx has no file",
			       (unsigned long long)r->start);
	if (t->core)
		return core_file_open(t->core, r, resolved, cap, fd, e);
	/* The kernel shows paths from our root. A chroot's appear under its
	 * directory: drop that to reach them through /proc/PID/root too. */
	char root[4096], link[64];
	const char *inside = r->path;
	snprintf(link, sizeof(link), "/proc/%d/root", (int)pid);
	ssize_t n = readlink(link, root, sizeof(root) - 1);
	if (n > 1) {
		root[n] = '\0';
		if (strncmp(r->path, root, (size_t)n) == 0 && r->path[n] == '/')
			inside = r->path + n;
	}
	snprintf(cand[0], sizeof(cand[0]), "/proc/%d/root%s", (int)pid, inside);
	snprintf(cand[1], sizeof(cand[1]), "%s", r->path);
	snprintf(cand[2], sizeof(cand[2]), "/proc/%d/map_files/%llx-%llx",
		 (int)pid, (unsigned long long)r->start,
		 (unsigned long long)r->end);
	for (int i = 0; i < 3; i++) {
		int f, match;
		int rc = try_open(cand[i], r, &f, &match);
		if (rc) {
			if (!first_err)
				first_err = -rc;
			continue;
		}
		if (match) {
			if (best_fd >= 0)
				close(best_fd);
			best = i;
			best_fd = f;
			break;
		}
		/* same name, other inode: keep as a last resort (overlayfs
		 * reports inodes that differ from the maps line) */
		if (best_fd < 0) {
			best = i;
			best_fd = f;
		} else {
			close(f);
		}
	}
	if (best_fd < 0)
		return nd_fail(e, ND_ETARGET, "cannot open %s (mapped by %s): %s",
			       r->path, t->name, strerror(first_err));
	snprintf(resolved, cap, "%s", cand[best]);
	*fd = best_fd;
	return 0;
}

void target_path(const char *resolved_mapped, const char *mapped_path,
		 const char *want, char *out, size_t cap)
{
	size_t rl = strlen(resolved_mapped), ml = strlen(mapped_path);
	size_t common = 0;

	/* resolved = P1 + X and mapped = P2 + X: what replaced P2 by P1 for
	 * the mapped file does the same for a file beside it */
	while (common < rl && common < ml &&
	       resolved_mapped[rl - 1 - common] == mapped_path[ml - 1 - common])
		common++;
	size_t p1 = rl - common, p2 = ml - common;
	if (strncmp(want, mapped_path, p2) == 0)
		snprintf(out, cap, "%.*s%s", (int)p1, resolved_mapped, want + p2);
	else
		snprintf(out, cap, "%s", want);
}
