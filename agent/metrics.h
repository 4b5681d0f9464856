/* watch --metrics HOST:PORT: /metrics in Prometheus's text format, served
 * by libmicrohttpd on a thread of its own, from a page the watch renders
 * between polls; a client, however slow or malformed, only ever waits for
 * a lock held while a page pointer is swapped. */
#ifndef NDSPY_METRICS_H
#define NDSPY_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../decode/err.h"
#include "live_table.h"
#include "sites.h"

struct metrics;

/* Listens on HOST:PORT ([V6]:PORT; PORT alone: 127.0.0.1) and serves;
 * raise_fds: raise ndspy's soft limit of descriptors for more clients
 * (not when ndspy starts a command, which would inherit it). */
int metrics_start(const char *hostport, bool raise_fds,
		  struct metrics **out, struct nd_err *e);
void metrics_set_pid(struct metrics *m, pid_t pid);
/* Renders the page from what was seen (at most every 200 ms). */
void metrics_update(struct metrics *m, const struct live_ledger *seen,
		    const struct sites *sites, uint64_t lost);
/* Stops serving and frees; NULL is fine. */
void metrics_stop(struct metrics *m);

#endif
