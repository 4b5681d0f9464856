/* Every thread of a target as it stands: native frames unwound, Python
 * frames walked. */
#include "threads.h"

#include <stdio.h>
#include <stdlib.h>

#include "core.h"
#include "freeze.h"
#include "target.h"
#include "unwind.h"

static void unwind_one(struct unwinder *u, struct thread *th, pid_t tid,
		       const struct user_regs_struct *regs,
		       const struct nd_pystacks *ps)
{
	th->tid = tid;
	unwind_thread(u, regs, th->ips, th->sps, THREAD_MAX_NATIVE, &th->n,
		      &th->err);
	for (size_t i = 0; i < ps->n; i++) {
		const struct nd_pythread *p = &ps->t[i];
		if (p->thread_id != regs->fs_base)
			continue;
		if (p->main_interp)
			th->py = p;
		else if (th->nsub < THREAD_MAX_SUBINTERP)
			th->sub[th->nsub++] = p;
	}
}

int threads_read(struct target *t, const struct freeze *fz,
		 struct thread **out, size_t *n, struct nd_pystacks *ps,
		 struct nd_err *e)
{
	struct nd_err pyerr = {0};

	*n = 0;
	size_t max = t->pid ? (size_t)fz->n : t->core->nthr;
	struct thread *th = calloc(max ? max : 1, sizeof(*th));
	struct unwinder *u = unwinder_new(t);
	int rc = th && u ? 0 : nd_fail(e, ND_ENOMEM, "out of memory");
	if (!rc && nd_py_stacks(&t->ctx, t->rt.runtime_addr, ps, &pyerr))
		fprintf(stderr, "ndspy: %s: Python threads not read: %s\n",
			t->name, pyerr.msg);
	else if (!rc && ps->err.code)
		fprintf(stderr, "ndspy: %s: %s: the threads after it are not "
				"shown\n", t->name, ps->err.msg);
	for (size_t i = 0; !rc && i < max; i++) {
		if (t->pid) {
			const struct frozen_thread *f = &fz->t[i];
			if (!f->tid)
				continue; /* exited meanwhile */
			if (f->have_regs) {
				unwind_one(u, &th[*n], f->tid, &f->regs, ps);
			} else {
				th[*n].tid = f->tid;
				nd_fail(&th[*n].err, ND_EREAD, "it did not stop "
					"in time: its registers were not read");
			}
			th[(*n)++].main = f->tid == t->pid;
		} else {
			const struct core_thread *c = &t->core->thr[i];
			unwind_one(u, &th[*n], c->tid, &c->regs, ps);
			th[(*n)++].main = c->tid == t->core->pid;
		}
	}
	unwinder_free(u);
	*out = th;
	return rc;
}

int threads_frames(struct target *t, const struct thread *th, size_t n,
		   struct nd_err *e)
{
	size_t total = 0, k = 0;

	for (size_t i = 0; i < n; i++)
		total += th[i].py ? th[i].py->n : 0;
	struct nd_frame_root *f = calloc(total ? total : 1, sizeof(*f));
	if (!f)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (th[i].py)
			k += nd_frame_roots(th[i].py, (int)th[i].tid, f + k);
	free(t->frames);
	t->frames = f;
	t->nframes = k;
	return 0;
}

int threads_roots(struct target *t, const struct freeze *fz, struct nd_err *e)
{
	struct thread *th = NULL;
	struct nd_pystacks ps = {0};
	size_t n = 0;
	int rc = threads_read(t, fz, &th, &n, &ps, e) ||
		 threads_frames(t, th, n, e);

	free(th);
	nd_py_stacks_free(&ps);
	return rc ? -1 : 0;
}
