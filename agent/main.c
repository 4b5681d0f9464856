/* ndspy: look inside NumPy arrays of other processes. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef NDSPY_VERSION
#define NDSPY_VERSION "0.1.0"
#endif

static const char usage[] =
	"usage: ndspy [--version] [--help] COMMAND [ARGS]\n"
	"\n"
	"Look inside the NumPy arrays of another process, as NumPy itself\n"
	"describes them, without stopping it for more than a moment.\n"
	"\n"
	"commands:\n"
	"  show TARGET OBJECT...   decode arrays: by address (id() or 0x-hex),\n"
	"                          path (__main__.cache['k'], frame:TID:N.x)\n"
	"                          or @SYMBOL\n"
	"  list TARGET             every live array, found by scanning memory\n"
	"  stacks TARGET           every thread's native and Python backtrace\n"
	"  watch PID | -- COMMAND  NumPy's buffers allocated and freed, live\n"
	"  audit PID               orphaned buffers, arrays pinned by views\n"
	"  top PID                 live NumPy bytes by Python line, refreshed\n"
	"  why TARGET [OBJECT...]  the reference paths that keep arrays alive\n"
	"  snapshot TARGET -o FILE what the others read, as a small core file\n"
	"\n"
	"TARGET is a process ID or a core file (gcore's, the kernel's, or\n"
	"ndspy snapshot's).\n"
	"\n"
	"Run 'ndspy COMMAND --help' for a command's options.\n"
	"\n"
	"exit status: 0 ok; 1 an object is not an array or could not be read;\n"
	"2 usage; 3 the target cannot be opened\n"
	"\n"
	"examples:\n"
	"  ndspy show 1234 __main__.model.weights  # an array by its Python path\n"
	"  ndspy list 1234 --min-bytes 1048576     # every array of 1 MiB or more\n"
	"  ndspy why 1234                          # what holds each array\n"
	"  ndspy stacks core                       # a core file's threads\n"
	"  ndspy watch -- python3 train.py         # buffers from its first line on\n"
	"  ndspy snapshot 1234 -o app.snap         # for later, elsewhere\n";

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("ndspy %s\n", NDSPY_VERSION);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "show") == 0)
		return cmd_show(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "stacks") == 0)
		return cmd_stacks(argc - 1, argv + 1);
	if (strcmp(argv[1], "watch") == 0)
		return cmd_watch(argc - 1, argv + 1);
	if (strcmp(argv[1], "audit") == 0)
		return cmd_audit(argc - 1, argv + 1);
	if (strcmp(argv[1], "top") == 0)
		return cmd_top(argc - 1, argv + 1);
	if (strcmp(argv[1], "why") == 0)
		return cmd_why(argc - 1, argv + 1);
	if (strcmp(argv[1], "snapshot") == 0)
		return cmd_snapshot(argc - 1, argv + 1);
	fprintf(stderr, "ndspy: unknown command '%s' (see ndspy --help)\n",
		argv[1]);
	return EXIT_USAGE;
}
