#include "cleanup.h"

#include <string.h>

#define SLOTS 8

volatile sig_atomic_t cleanup_stop_requested;

static struct {
	cleanup_fn fn;
	void *arg;
} volatile slots[SLOTS];
static int installed;
static volatile sig_atomic_t current, stop_int_term, stop_hup;

int cleanup_signal(void)
{
	return current;
}

static void on_signal(int sig)
{
	if ((stop_int_term && (sig == SIGINT || sig == SIGTERM)) ||
	    (stop_hup && sig == SIGHUP)) {
		cleanup_stop_requested = 1;
		return;
	}
	current = sig;
	for (int i = SLOTS - 1; i >= 0; i--) {
		cleanup_fn fn = slots[i].fn;
		if (fn) {
			slots[i].fn = NULL;
			fn(slots[i].arg);
		}
	}
	/* die of the same signal, as if ndspy had not caught it */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	raise(sig);
}

static void install(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE,
				   SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
	struct sigaction sa;

	if (installed)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	installed = 1;
}

int cleanup_push(cleanup_fn fn, void *arg)
{
	install();
	for (int i = 0; i < SLOTS; i++) {
		if (!slots[i].fn) {
			slots[i].arg = arg;
			slots[i].fn = fn;
			return i;
		}
	}
	return -1;
}

void cleanup_pop(int slot)
{
	if (slot >= 0 && slot < SLOTS)
		slots[slot].fn = NULL;
}

void cleanup_catch_stop(bool hangup)
{
	install();
	stop_int_term = 1;
	stop_hup = hangup;
	/* a reader gone (watch ... | head) ends them through the write's
	 * error, with their report files written */
	signal(SIGPIPE, SIG_IGN);
}
