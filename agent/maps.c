#include "maps.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *region_kind_name(enum region_kind k)
{
	static const char *const names[] = {"anon", "heap", "stack", "file",
					    "other"};
	return names[k];
}

static int add(struct maps *m, size_t *cap, const struct region *r)
{
	if (m->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct region *p = realloc(m->r, ncap * sizeof(*p));
		if (!p)
			return -1;
		m->r = p;
		*cap = ncap;
	}
	m->r[m->n++] = *r;
	return 0;
}

int maps_parse(const char *text, struct maps *m, struct nd_err *e)
{
	size_t cap = 0;
	const char *line = text;

	m->r = NULL;
	m->n = 0;
	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		struct region r = {0};
		int pathpos = -1;
		char *l = strndup(line, len);
		if (!l)
			goto oom;
		if (sscanf(l, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 " %n",
			   &r.start, &r.end, r.perms, &r.offset, &r.dev_major,
			   &r.dev_minor, &r.inode, &pathpos) < 7) {
			free(l);
			maps_free(m);
			return nd_fail(e, ND_ETARGET, "unexpected line in maps: %.60s",
				       line);
		}
		const char *path = pathpos >= 0 ? l + pathpos : "";
		if (!*path) {
			r.kind = R_ANON;
		} else if (strcmp(path, "[heap]") == 0) {
			r.kind = R_HEAP;
		} else if (strncmp(path, "[stack", 6) == 0) {
			r.kind = R_STACK;
		} else if (path[0] == '/') {
			r.kind = R_FILE;
		} else if (strncmp(path, "[anon", 5) == 0) {
			r.kind = R_ANON;
		} else {
			r.kind = R_OTHER;
		}
		if (*path) {
			r.path = strdup(path);
			if (!r.path) {
				free(l);
				goto oom;
			}
			size_t pl = strlen(r.path);
			if (r.kind == R_FILE && pl > 10 &&
			    strcmp(r.path + pl - 10, " (deleted)") == 0) {
				r.path[pl - 10] = '\0';
				r.deleted = true;
			}
		}
		free(l);
		if (add(m, &cap, &r)) {
			free(r.path);
			goto oom;
		}
		line += len + (nl ? 1 : 0);
	}
	return 0;
oom:
	maps_free(m);
	return nd_fail(e, ND_ENOMEM, "out of memory reading maps");
}

/* The whole of a small /proc file; "" when it is empty. */
static char *slurp(const char *path, int *err)
{
	size_t len = 0, cap = 1 << 16;
	char *text = malloc(cap);
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || !text) {
		*err = fd < 0 ? errno : ENOMEM;
		free(text);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((n = read(fd, text + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 4096) {
			char *p = realloc(text, cap * 2);
			if (!p) {
				n = -1;
				errno = ENOMEM;
				break;
			}
			text = p;
			cap *= 2;
		}
	}
	*err = errno;
	close(fd);
	if (n < 0) {
		free(text);
		return NULL;
	}
	text[len] = '\0';
	return text;
}

int maps_read(pid_t pid, struct maps *m, struct nd_err *e)
{
	char path[96];
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	char *text = slurp(path, &err);
	if (!text) {
		if (err == ENOENT)
			return nd_fail(e, ND_ETARGET, "process %d: no such process",
				       (int)pid);
		return nd_fail(e, ND_ETARGET, "process %d: cannot read %s: %s",
			       (int)pid, path, strerror(err));
	}
	if (!*text) {
		free(text);
		return nd_fail(e, ND_ETARGET,
			       "process %d has no memory map (a zombie or a "
			       "kernel thread)",
			       (int)pid);
	}
	int rc = maps_parse(text, m, e);
	free(text);
	return rc;
}

void maps_free(struct maps *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->r[i].path);
	free(m->r);
	m->r = NULL;
	m->n = 0;
}

const struct region *maps_find(const struct maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (addr < m->r[mid].start)
			hi = mid;
		else if (addr >= m->r[mid].end)
			lo = mid + 1;
		else
			return &m->r[mid];
	}
	return NULL;
}

bool region_scanned(const struct region *r)
{
	return r->perms[0] == 'r' && r->perms[1] == 'w' && r->perms[3] == 'p' &&
	       r->kind != R_OTHER;
}
