/* What every subcommand shares: exit codes, error printing, timings. */
#ifndef NDSPY_CLI_H
#define NDSPY_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../decode/err.h"

enum {
	EXIT_OK = 0,
	EXIT_OBJECT = 1, /* not an array, or could not be decoded */
	EXIT_USAGE = 2,
	EXIT_TARGET = 3, /* cannot open: no such process, permission, ... */
};

extern bool cli_verbose;
/* --sysroot and --exe, for commands whose TARGET may be a core */
struct target_opts;
extern struct target_opts cli_target;

/* "ndspy: <message>" on stderr; returns the exit code for e. */
int cli_error(const struct nd_err *e);
int cli_exit_code(const struct nd_err *e);
void cli_verbosef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "0x7f..", or decimal as id() prints it: strict, whole string. */
int cli_parse_address(const char *s, uint64_t *out, struct nd_err *e);
/* What an OBJECT argument names: checked before the target is touched. */
enum object_kind { OBJ_ADDRESS, OBJ_NAME, OBJ_SYMBOL };
int cli_parse_object(const char *s, enum object_kind *kind, struct nd_err *e);
/* Seconds for --duration: a positive number. */
int cli_parse_seconds(const char *opt, const char *s, double *out,
		      struct nd_err *e);
/* A non-negative count for --data and the like. */
int cli_parse_count(const char *opt, const char *s, int64_t *out,
		    struct nd_err *e);
/* A size in bytes: N, or N with K, M, G or T (KiB, MiB, ...: powers of
 * 1024, as ndspy prints sizes). */
int cli_parse_size(const char *opt, const char *s, uint64_t *out,
		   struct nd_err *e);
/* A command's options: getopt_long over longopts, which the caller ends
 * with cli_common_options (-v/--verbose, -h/--help: usage printed, exit 0),
 * and the short options in shorts (getopt's syntax: "o:").
 * Other options go to fn (with optarg); missing arguments and unknown
 * options are usage errors naming cmd. *first is the first operand. */
struct option;
#define CLI_OPT_SYSROOT 0x100
#define CLI_OPT_EXE 0x101
#define CLI_OPT_CAPTURE_MAX 0x102
/* --capture-max, for the commands that read a paused target */
#define CLI_CAPTURE_OPTION \
	{"capture-max", required_argument, NULL, CLI_OPT_CAPTURE_MAX}
#define CLI_CAPTURE_HELP \
	"  --capture-max N  keep at most N bytes (K, M, G: KiB, MiB, GiB) of\n" \
	"                   what is read while the target is paused (default\n" \
	"                   1G); what is read past it is not shown\n"
#define CLI_COMMON_OPTIONS \
	{"verbose", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'}, \
	{"sysroot", required_argument, NULL, CLI_OPT_SYSROOT}, \
	{"exe", required_argument, NULL, CLI_OPT_EXE}, {NULL, 0, NULL, 0}
/* The lines every TARGET-taking command's --help shows for them. */
#define CLI_CORE_HELP \
	"  --sysroot DIR    a core's files (binary, libraries) are under DIR\n" \
	"                   (the core was written on another machine or in a\n" \
	"                   container); its paths are taken inside DIR, as a\n" \
	"                   chroot would take them\n" \
	"  --exe PATH       the core's executable is PATH\n"
typedef int (*cli_option_fn)(void *opts, int ch, const char *arg,
			     struct nd_err *e);
int cli_options(int argc, char **argv, const struct option *longopts,
		const char *shorts, const char *cmd, const char *usage,
		cli_option_fn fn, void *opts, int *first, struct nd_err *e);
/* Writes all of buf to fd 1; false if stdout is gone. */
bool cli_write_stdout(const char *buf, size_t len);

int cmd_show(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_stacks(int argc, char **argv);
int cmd_why(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_top(int argc, char **argv);

#endif
