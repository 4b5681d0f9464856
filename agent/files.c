#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int open_regular(const char *path)
{
	struct stat st;
	int f = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (f < 0)
		return -errno;
	if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(f);
		return -EINVAL;
	}
	fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK);
	return f;
}

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

int target_file_open(pid_t pid, const struct region *r, char *resolved,
		     size_t cap, int *fd, struct nd_err *e)
{
	char cand[3][4200];
	int best = -1, best_fd = -1, first_err = 0;

	if (!r->path)
		return nd_fail(e, ND_ETARGET, "mapping at 0x%llx has no file",
			       (unsigned long long)r->start);
	snprintf(cand[0], sizeof(cand[0]), "/proc/%d/root%s", (int)pid, r->path);
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
		return nd_fail(e, ND_ETARGET, "cannot open %s (mapped by process "
			       "%d): %s",
			       r->path, (int)pid, strerror(first_err));
	snprintf(resolved, cap, "%s", cand[best]);
	*fd = best_fd;
	return 0;
}

void target_path(const char *resolved_mapped, const char *mapped_path,
		 const char *want, char *out, size_t cap)
{
	size_t rl = strlen(resolved_mapped), ml = strlen(mapped_path);

	/* resolved = prefix + mapped_path: reuse the prefix for want */
	if (rl >= ml && strcmp(resolved_mapped + rl - ml, mapped_path) == 0)
		snprintf(out, cap, "%.*s%s", (int)(rl - ml), resolved_mapped,
			 want);
	else
		snprintf(out, cap, "%s", want);
}
