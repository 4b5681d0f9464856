#define _GNU_SOURCE
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../decode/buf.h"
#include "site_lines.h"

/* Per-line series: the lines holding the most live bytes. */
#define METRICS_TOP_LINES 20
/* Bounds on what clients may hold: a slow or hostile one is dropped
 * after the timeout; a scrape finds a free connection slot unless
 * thousands are held open at once (libmicrohttpd stops accepting at the
 * limit, and a scrape then waits in the listen queue). */
#define METRICS_CONNECTIONS 4096
#define METRICS_TIMEOUT_S 3
#define METRICS_CONN_MEMORY (32 * 1024)
#define METRICS_FDS_KEPT 256 /* for ndspy's own files and BPF objects */
#define METRICS_RENDER_NS 200000000

struct metrics {
	struct MHD_Daemon *d;
	pthread_mutex_t lock;
	char *page; /* guarded by lock */
	size_t len;
	pid_t pid;
	int64_t rendered_ns;
};

static const char content_type[] = "text/plain; version=0.0.4; charset=utf-8";

static enum MHD_Result answer(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_len, void **state)
{
	struct metrics *m = cls;
	struct MHD_Response *r;
	unsigned status = MHD_HTTP_OK;

	(void)version;
	(void)upload;
	(void)state;
	if (*upload_len) /* a body is never wanted: dropped unread */
		*upload_len = 0;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	} else if (strcmp(url, "/metrics")) {
		static const char nf[] = "ndspy serves /metrics\n";
		status = MHD_HTTP_NOT_FOUND;
		r = MHD_create_response_from_buffer(sizeof(nf) - 1, (void *)nf,
						    MHD_RESPMEM_PERSISTENT);
	} else {
		pthread_mutex_lock(&m->lock);
		/* none yet: the probes are not in, nothing is known */
		if (!m->page)
			status = MHD_HTTP_SERVICE_UNAVAILABLE;
		r = MHD_create_response_from_buffer(m->len, m->page ? m->page : "",
						    MHD_RESPMEM_MUST_COPY);
		pthread_mutex_unlock(&m->lock);
		if (r)
			MHD_add_response_header(r, "Content-Type", content_type);
	}
	if (!r)
		return MHD_NO;
	enum MHD_Result rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* HOST:PORT, [V6]:PORT or PORT into a bound, listening socket. HOST is
 * an address, not a name: no resolver (the static build has no NSS). */
static int listen_on(const char *spec, struct nd_err *e)
{
	char host[256] = "127.0.0.1";
	const char *port = spec, *colon = strrchr(spec, ':');
	struct sockaddr_storage sa = {0};
	struct sockaddr_in *v4 = (struct sockaddr_in *)&sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&sa;
	socklen_t len;

	if (colon) {
		size_t n = (size_t)(colon - spec);
		const char *h = spec;
		if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
			h++;
			n -= 2;
		} else if (memchr(h, ':', n)) {
			/* "::1" would be host "::", port 1: every interface */
			return nd_fail(e, ND_EUSAGE, "--metrics %.100s: an IPv6 "
				       "address goes in brackets: [::1]:PORT",
				       spec);
		}
		if (n == 0 || n >= sizeof(host))
			return nd_fail(e, ND_EUSAGE, "--metrics %.100s: expected "
				       "HOST:PORT or PORT", spec);
		memcpy(host, h, n);
		host[n] = '\0';
		port = colon + 1;
	}
	char *end;
	long p = strtol(port, &end, 10);
	/* 0 would be a port nobody is told */
	if (!*port || *end || p < 1 || p > 65535)
		return nd_fail(e, ND_EUSAGE, "--metrics %.100s: the port must "
			       "be a number from 1 to 65535", spec);
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
		len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		len = sizeof(*v6);
	} else {
		return nd_fail(e, ND_EUSAGE, "--metrics %.100s: HOST must be an "
			       "address (127.0.0.1, [::1], 0.0.0.0)", spec);
	}
	int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) || listen(fd, 128)) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return nd_fail(e, ND_EUSAGE, "--metrics %.100s: cannot listen: "
			       "%s", spec, strerror(err));
	}
	return fd;
}

/* As many connections as the descriptors ndspy may open allow (with
 * raise, the soft limit raised towards the hard one), up to the bound. */
static unsigned connection_limit(bool raise)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r))
		return 64;
	if (raise && r.rlim_cur < r.rlim_max &&
	    r.rlim_cur < METRICS_CONNECTIONS * 2) {
		rlim_t want = r.rlim_max < METRICS_CONNECTIONS * 2
				      ? r.rlim_max
				      : METRICS_CONNECTIONS * 2;
		struct rlimit more = {want, r.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &more) == 0)
			r.rlim_cur = want;
	}
	if (r.rlim_cur <= 2 * METRICS_FDS_KEPT)
		return 64;
	rlim_t n = r.rlim_cur - METRICS_FDS_KEPT;
	return n < METRICS_CONNECTIONS ? (unsigned)n : METRICS_CONNECTIONS;
}

int metrics_start(const char *hostport, bool raise_fds, struct metrics **out,
		  struct nd_err *e)
{
	struct metrics *m = calloc(1, sizeof(*m));
	int fd;

	*out = NULL;
	if (!m)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	if ((fd = listen_on(hostport, e)) < 0) {
		free(m);
		return -1;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
		answer, m, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, connection_limit(raise_fds),
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_CONN_MEMORY,
		MHD_OPTION_END);
	if (!m->d) {
		close(fd);
		pthread_mutex_destroy(&m->lock);
		free(m);
		return nd_fail(e, ND_EIO, "--metrics %.100s: the HTTP server "
			       "did not start", hostport);
	}
	*out = m;
	return 0;
}

void metrics_set_pid(struct metrics *m, pid_t pid)
{
	m->pid = pid;
}

/* A label value as the text format wants it. */
static void label(struct nd_buf *b, const char *s)
{
	nd_buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			nd_buf_putc(b, '\\');
		if (*s == '\n')
			nd_buf_puts(b, "\\n");
		else
			nd_buf_putc(b, *s);
	}
	nd_buf_putc(b, '"');
}

static void family(struct nd_buf *b, pid_t pid, const char *name,
		   const char *type, const char *help, uint64_t v)
{
	nd_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s{pid=\"%d\"} %" PRIu64
			 "\n",
		      name, help, name, type, name, (int)pid, v);
}

static int by_live(const void *a, const void *b)
{
	const struct site_line *x = a, *y = b;
	return x->c.live_bytes < y->c.live_bytes ? 1
	       : x->c.live_bytes > y->c.live_bytes ? -1
						   : 0;
}

static void render(struct nd_buf *b, pid_t pid, const struct live_ledger *s,
		   const struct sites *sites, uint64_t lost)
{
	struct site_line *l;
	size_t n;

	family(b, pid, "ndspy_numpy_live_bytes", "gauge", "Bytes of NumPy "
	       "data buffers allocated since the watch began and not freed.",
	       s->bytes_allocated - s->bytes_freed);
	family(b, pid, "ndspy_numpy_live_buffers", "gauge", "NumPy data "
	       "buffers allocated since the watch began and not freed.",
	       s->live.n);
	family(b, pid, "ndspy_numpy_allocations_total", "counter", "NumPy "
	       "data buffers allocated.", s->allocs);
	family(b, pid, "ndspy_numpy_frees_total", "counter", "NumPy data "
	       "buffers freed (also those allocated before the watch began).",
	       s->frees);
	family(b, pid, "ndspy_numpy_allocated_bytes_total", "counter",
	       "Bytes of NumPy data buffers allocated.", s->bytes_allocated);
	family(b, pid, "ndspy_lost_events_total", "counter", "Allocation "
	       "and free events lost (the ring buffer was full).", lost);
	nd_buf_puts(b, "# HELP ndspy_numpy_site_live_bytes Live bytes by the "
		       "Python line that called NumPy to allocate them (the "
		       "top 20).\n"
		       "# TYPE ndspy_numpy_site_live_bytes gauge\n");
	if (site_lines(s, sites, NULL, NULL, &l, &n)) {
		b->oom = true;
		return;
	}
	qsort(l, n, sizeof(*l), by_live);
	for (size_t i = 0; i < n && i < METRICS_TOP_LINES; i++) {
		if (!l[i].c.live_bytes)
			break;
		const struct nd_pyframe *f = l[i].f;
		nd_buf_printf(b, "ndspy_numpy_site_live_bytes{pid=\"%d\","
				 "function=", (int)pid);
		label(b, f ? sites_function(f) : SITES_NO_STACK);
		nd_buf_puts(b, ",file=");
		label(b, f ? f->file : "");
		nd_buf_printf(b, ",line=\"%d\"} %" PRIu64 "\n",
			      f ? f->line : 0, l[i].c.live_bytes);
	}
	free(l);
}

void metrics_update(struct metrics *m, const struct live_ledger *seen,
		    const struct sites *sites, uint64_t lost)
{
	struct timespec ts;
	struct nd_buf b = {0};

	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (m->page && now - m->rendered_ns < METRICS_RENDER_NS)
		return;
	m->rendered_ns = now;
	render(&b, m->pid, seen, sites, lost);
	if (b.oom) { /* the last page stays */
		nd_buf_free(&b);
		return;
	}
	pthread_mutex_lock(&m->lock);
	char *old = m->page;
	m->page = b.p;
	m->len = b.len;
	pthread_mutex_unlock(&m->lock);
	free(old);
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->d);
	pthread_mutex_destroy(&m->lock);
	free(m->page);
	free(m);
}
