#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "target.h"

bool cli_verbose;
struct target_opts cli_target;

int cli_exit_code(const struct nd_err *e)
{
	switch (e->code) {
	case ND_OK:
		return EXIT_OK;
	case ND_EUSAGE:
		return EXIT_USAGE;
	case ND_ETARGET:
		return EXIT_TARGET;
	default:
		return EXIT_OBJECT;
	}
}

int cli_error(const struct nd_err *e)
{
	fprintf(stderr, "ndspy: %s\n", e->msg);
	return cli_exit_code(e);
}

void cli_verbosef(const char *fmt, ...)
{
	va_list ap;

	if (!cli_verbose)
		return;
	va_start(ap, fmt);
	fputs("ndspy: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int cli_parse_address(const char *s, uint64_t *out, struct nd_err *e)
{
	char *end;
	int base = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10;

	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		goto bad;
	unsigned long long v = strtoull(s, &end, base);
	if (*end || errno || (base == 16 && end == s + 2))
		goto bad;
	*out = v;
	return 0;
bad:
	return nd_fail(e, ND_EUSAGE,
		       "'%s' is not an address (give it in decimal as id() "
		       "prints it, or as 0x-hex)",
		       s);
}

int cli_parse_object(const char *s, enum object_kind *kind, struct nd_err *e)
{
	uint64_t ignored;

	if (s[0] >= '0' && s[0] <= '9') {
		*kind = OBJ_ADDRESS;
		return cli_parse_address(s, &ignored, e);
	}
	if (s[0] == '@' && s[1] && s[1] != ':') {
		*kind = OBJ_SYMBOL;
		return 0;
	}
	/* a path: MODULE.NAME (Python identifiers joined by dots) or
	 * frame:TID:N.NAME, then steps the resolver reads ([KEY], ...) */
	size_t head = strcspn(s, "[{");
	bool frame = strncmp(s, "frame:", 6) == 0;
	bool ok = head && (frame || (memchr(s, '.', head) && s[0] != '.' &&
				     s[head - 1] != '.'));
	for (size_t i = frame ? 6 : 0; ok && i < head; i++)
		ok = (s[i] == '.' && s[i + 1] != '.') || s[i] == '_' ||
		     (s[i] == ':' && frame) || (s[i] >= 'a' && s[i] <= 'z') ||
		     (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		     (unsigned char)s[i] >= 0x80;
	if (ok) {
		*kind = OBJ_NAME;
		return 0;
	}
	return nd_fail(e, ND_EUSAGE,
		       "'%s' is not an OBJECT: give an address (decimal as id() "
		       "prints it, or 0x-hex), a path (MODULE.NAME or "
		       "frame:TID:N.NAME, then .ATTR, [INT], [KEY]), or @SYMBOL",
		       s);
}

int cli_parse_size(const char *opt, const char *s, uint64_t *out,
		   struct nd_err *e)
{
	static const char units[] = "KMGT";
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	const char *u = *end ? strchr(units, toupper((unsigned char)*end))
			     : NULL;
	if (u) {
		for (int i = 0; i <= u - units; i++)
			if (__builtin_mul_overflow(v, 1024ull, &v))
				errno = ERANGE;
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
	}
	if (!*s || *s == '-' || *end || errno)
		return nd_fail(e, ND_EUSAGE, "%s wants a size in bytes (like "
			       "4096, 64K, 512M or 2G), not '%s'", opt, s);
	*out = v;
	return 0;
}

int cli_parse_count(const char *opt, const char *s, int64_t *out,
		    struct nd_err *e)
{
	char *end;

	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || errno || v < 0)
		return nd_fail(e, ND_EUSAGE, "%s wants a count, not '%s'", opt, s);
	*out = v;
	return 0;
}

int cli_parse_seconds(const char *opt, const char *s, double *out,
		      struct nd_err *e)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (!*s || *end || errno || !(*out > 0))
		return nd_fail(e, ND_EUSAGE, "%s wants seconds, not '%s'", opt, s);
	return 0;
}


bool cli_write_stdout(const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(1, buf, len);
		if (n < 0 && errno == EINTR && !cleanup_stop_requested)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

int cli_options(int argc, char **argv, const struct option *longopts,
		const char *shorts, const char *cmd, const char *usage,
		cli_option_fn fn, void *opts, int *first, struct nd_err *e)
{
	char optstring[32];
	int ch;

	snprintf(optstring, sizeof(optstring), ":vh%s", shorts);
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (ch) {
		case 'v':
			cli_verbose = true;
			break;
		case CLI_OPT_SYSROOT:
			cli_target.sysroot = optarg;
			break;
		case CLI_OPT_EXE:
			cli_target.exe = optarg;
			break;
		case CLI_OPT_CAPTURE_MAX:
			if (cli_parse_size("--capture-max", optarg,
					   &cli_target.capture_max, e))
				return -1;
			if (cli_target.capture_max < 1 << 20)
				return nd_fail(e, ND_EUSAGE, "--capture-max: at "
					       "least 1M (the interpreter's own "
					       "structures take that)");
			break;
		case 'h':
			fputs(usage, stdout);
			exit(EXIT_OK);
		case ':':
			return nd_fail(e, ND_EUSAGE, "%s needs an argument",
				       argv[optind - 1]);
		case '?': {
			const char *arg = argv[optind - 1];
			bool is_long = strncmp(arg, "--", 2) == 0;
			/* a known long option given a value it does not take */
			if (is_long && optopt)
				return nd_fail(e, ND_EUSAGE,
					       "%.*s takes no value",
					       (int)strcspn(arg, "="), arg);
			/* inside a group such as -vx, optind has not moved */
			if (!is_long && optopt)
				return nd_fail(e, ND_EUSAGE,
					       "unknown option '-%c' (see ndspy %s "
					       "--help)",
					       optopt, cmd);
			return nd_fail(e, ND_EUSAGE,
				       "unknown option '%.*s' (see ndspy %s --help)",
				       (int)strcspn(arg, "="), arg, cmd);
		}
		default:
			if (fn(opts, ch, optarg, e))
				return -1;
		}
	}
	*first = optind;
	return 0;
}
