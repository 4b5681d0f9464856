#include "cleanup.h"

#include <signal.h>
#include <string.h>

#define SLOTS 8

static struct {
	cleanup_fn fn;
	void *arg;
} volatile slots[SLOTS];
static int installed;
static volatile sig_atomic_t current;

int cleanup_signal(void)
{
	return current;
}

static void on_signal(int sig)
{
	current = sig;
	for (int i = SLOTS - 1; i >= 0; i--) {
		cleanup_fn fn = slots[i].fn;
		if (fn) {
			slots[i].fn = NULL;
			fn(slots[i].arg);
		}
	}
	/* SA_RESETHAND restored the default action: die of the same signal */
	raise(sig);
}

static void install(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE,
				   SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	installed = 1;
}

int cleanup_push(cleanup_fn fn, void *arg)
{
	if (!installed)
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
