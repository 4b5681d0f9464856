#!/bin/sh
# Writes the man page ndspy(1) to stdout: agent/ndspy.1.in, the hand-written
# parts, with its placeholder lines filled in from the binary's own --help,
# so that the page says what the program says:
#   @VERSION@   (anywhere in a line) what `ndspy --version` prints
#   @SYNOPSIS@  the usage lines of every command
#   @COMMANDS@  every command's --help: a subsection each
#   @EXAMPLES@  the EXAMPLES block of `ndspy --help`, if it has one
# The commands are those `ndspy --help` lists under "commands:".
#   sh agent/man.sh build/ndspy agent/ndspy.1.in > build/ndspy.1
#
# How --help text becomes roff: blank lines separate paragraphs; a line
# "usage: ndspy ..." and the lines under it starting with "ndspy" are the
# usage; an indented run of "TERM  description" lines (two spaces or more
# between them; deeper-indented lines continue the description) is a
# list of .TP entries, options in bold and their arguments in italics; a
# paragraph's first line such as "options:" or "paths: ROOT STEP..." (a
# few lower-case words and a colon) before such a run is its heading; a
# line in capitals ("EXAMPLES") before indented lines heads a block shown
# as it is (.nf), as is an indented run with no "TERM  description" line.
# Backslashes are escaped, dashes made \- (they are typed as options), and
# a line that would start with . or ' is guarded with \&.
set -eu
ndspy=$1
template=$2

[ -x "$ndspy" ] || { echo "man.sh: $ndspy is not executable" >&2; exit 1; }

# the awk program that turns one --help text into roff; mode=synopsis
# prints only its usage lines, mode=examples only its EXAMPLES block
# shellcheck disable=SC2016 # awk's $, not the shell's
HELP2ROFF='
function esc(s) {
	gsub(/\\/, "\\\\e", s)
	gsub(/-/, "\\\\-", s)
	return s
}
# a line of text, guarded; req() prints a request
function out(s) {
	if (s ~ /^[.\047]/)
		s = "\\&" s
	print s
}
function req(s) {
	print s
}
function indent(s) {
	match(s, /^ */)
	return RLENGTH
}
function is_caps(s) {
	return s ~ /^[A-Z][A-Z ]*:?$/ || tolower(s) ~ /^examples?:?$/
}
# TERM as roff: words starting with - in bold, the others in italics
function term(t,   n, w, i, r, sep, word, comma) {
	n = split(t, w, / +/)
	r = ""
	for (i = 1; i <= n; i++) {
		word = w[i]
		comma = ""
		if (word ~ /,$/) {
			comma = ","
			word = substr(word, 1, length(word) - 1)
		}
		sep = i > 1 ? " " : ""
		if (word ~ /^-/)
			r = r sep "\\fB" esc(word) "\\fR" comma
		else
			r = r sep "\\fI" esc(word) "\\fR" comma
	}
	return r
}
function usage(s,   rest) {
	sub(/^(usage:)? +/, "", s)
	if (match(s, /^ndspy( [a-z]+)?/)) {
		rest = substr(s, RLENGTH + 1)
		return "\\fB" esc(substr(s, 1, RLENGTH)) "\\fR" esc(rest)
	}
	return esc(s)
}
# does the indented run starting at line i hold a "TERM  description"?
function is_list(i,   base) {
	base = indent(L[i])
	for (; i <= n && L[i] ~ /^ /; i++)
		if (indent(L[i]) == base && substr(L[i], base + 1) ~ /[^ ]  +[^ ]/)
			return 1
	return 0
}
# the column of the descriptions of the run starting at line i, from its
# base: where the first continuation line starts, else the first
# description (clamped to 4..24)
function tag_width(i,   base, w, t) {
	base = indent(L[i])
	w = 0
	for (; i <= n && L[i] ~ /^ /; i++)
		if (indent(L[i]) > base) {
			w = indent(L[i]) - base
			break
		} else if (!w && match(t = substr(L[i], base + 1), /  +/)) {
			w = RSTART + RLENGTH - 1
		}
	return w < 4 ? 4 : w > 24 ? 24 : w
}
# the indented lines from i on (blank lines between them included), as
# they are; returns the first line after them
function verbatim(i,   base, j) {
	base = indent(L[i])
	for (j = i; j <= n && (L[j] ~ /^ / || L[j] == ""); j++)
		if (L[j] ~ /^ / && indent(L[j]) < base)
			base = indent(L[j])
	while (j > i && L[j - 1] == "")
		j--
	req(".PP")
	req(".RS 2")
	req(".nf")
	for (; i < j; i++)
		if (L[i] == "")
			req(".sp")
		else
			out(esc(substr(L[i], base + 1)))
	req(".fi")
	req(".RE")
	return j
}
{ L[++n] = $0; sub(/[ \t\r]+$/, "", L[n]) }
END {
	i = 1
	# the usage lines
	if (L[1] ~ /^usage: /) {
		if (mode != "examples")
			out(usage(L[1]))
		for (i = 2; i <= n && L[i] ~ /^ +ndspy /; i++)
			if (mode != "examples") {
				req(".br")
				out(usage(L[i]))
			}
	}
	if (mode == "synopsis")
		exit
	if (mode == "examples") {
		for (; i <= n; i++)
			if (is_caps(L[i]) && tolower(L[i]) ~ /^examples?:?$/ &&
			    L[i + 1] ~ /^ /) {
				verbatim(i + 1)
				i = n
			}
		exit
	}
	state = ""
	while (i <= n) {
		s = L[i]
		if (s == "") {
			state = ""
			i++
			continue
		}
		if (s !~ /^ /) {
			next_indented = i < n && L[i + 1] ~ /^ /
			if (next_indented && is_caps(s)) {
				req(".PP")
				out("\\fB" esc(s) "\\fR")
				i = verbatim(i + 1)
				state = ""
				continue
			}
			if (state != "para") {
				req(".PP")
				if (next_indented && match(s, /^[a-z][a-z ]*:( |$)/)) {
					out("\\fB" esc(substr(s, 1, RLENGTH)) "\\fR" \
					    esc(substr(s, RLENGTH + 1)))
					state = "para"
					i++
					continue
				}
			}
			out(esc(s))
			state = "para"
			i++
			continue
		}
		# an indented line
		if (state != "list") {
			if (!is_list(i)) {
				i = verbatim(i)
				state = ""
				continue
			}
			base = indent(s)
			width = tag_width(i)
			state = "list"
		}
		if (indent(s) <= base) {
			base = indent(s)
			t = substr(s, base + 1)
			d = ""
			if (match(t, /  +/)) {
				d = substr(t, RSTART + RLENGTH)
				t = substr(t, 1, RSTART - 1)
			}
			req(".TP " width "n")
			out(term(t))
			if (d != "")
				out(esc(d))
		} else {
			sub(/^ +/, "", s)
			out(esc(s))
		}
		i++
	}
}
'

help=$("$ndspy" --help)
version=$("$ndspy" --version | sed 's/^ndspy //')
commands=$(printf '%s\n' "$help" | awk '
	/^commands:/ { on = 1; next }
	on && /^$/ { exit }
	on && /^  [a-z]/ { print $1 }')
[ -n "$commands" ] || { echo "man.sh: no commands in $ndspy --help" >&2; exit 1; }

synopsis() {
	first=1
	for c in $commands; do
		[ "$first" = 1 ] || echo ".br"
		first=0
		h=$("$ndspy" "$c" --help)
		printf '%s\n' "$h" | awk -v mode=synopsis "$HELP2ROFF"
	done
}

commands() {
	for c in $commands; do
		echo ".SS $c"
		h=$("$ndspy" "$c" --help)
		printf '%s\n' "$h" | awk -v mode=cmd "$HELP2ROFF"
	done
}

examples() {
	printf '%s\n' "$help" | awk -v mode=examples "$HELP2ROFF"
}

while IFS= read -r line || [ -n "$line" ]; do
	case $line in
	@SYNOPSIS@) synopsis ;;
	@COMMANDS@) commands ;;
	@EXAMPLES@) examples ;;
	*@VERSION@*) printf '%s\n' "$line" | sed "s/@VERSION@/$version/g" ;;
	*) printf '%s\n' "$line" ;;
	esac
done <"$template"
