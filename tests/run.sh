#!/usr/bin/env bash
# Runs every suite, each speaking TAP, and ends with one line:
# "N passed, N failed". Exits non-zero if anything failed. Full output of
# each suite is kept in build/test-logs/.
#   tests/run.sh UNIT_BINARY...
# Suites: the cmocka binaries given, the integration suites against the
# host's Python (show and list twice: live, then on a gcore core of the
# same process), then the same suites, unchanged, against every other
# pair of the compatibility matrix (tests/matrix/targets; what is missing
# is built in the background while the host suites run).
# NDSPY_BUILD=0 skips the build's own suites (tests/build/: make, install,
# deb, static).
# NDSPY_MATRIX=0 skips the matrix (and says so); NDSPY_MATRIX_PAIRS="LABEL..."
# takes only those pairs. Then the fuzzers
# ($NDSPY_FUZZERS, tests/fuzz/run.sh) for NDSPY_FUZZ_SECONDS each, and
# every suite again on the sanitizer build ($NDSPY_SAN, $NDSPY_SAN_UNIT),
# against the host and the pairs in $NDSPY_SAN_PAIRS.
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
logs=build/test-logs
mkdir -p "$logs"
passed=0 failed=0 skipped=0

run_suite() {
	local name=$1; shift
	local log=$logs/$(printf '%s' "$name" | tr -c 'A-Za-z0-9._-' _).tap
	local start=$SECONDS
	"$@" >"$log" 2>&1
	local rc=$?
	local ok notok planned ran skips
	ok=$(grep -c '^ok ' "$log")
	notok=$(grep -c '^not ok ' "$log")
	skips=$(grep -c '# SKIP' "$log")
	planned=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$log" | head -n1)
	ran=$((ok + notok))
	# a suite that died, or ran fewer tests than it planned, has failed
	if [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ]; then
		notok=$((notok + 1))
		echo "not ok - $name exited with status $rc" >>"$log"
	elif [ -n "$planned" ] && [ "$planned" -ne "$ran" ]; then
		notok=$((notok + 1))
		echo "not ok - $name planned $planned tests, ran $ran" >>"$log"
	fi
	passed=$((passed + ok))
	failed=$((failed + notok))
	skipped=$((skipped + skips))
	printf '%-34s %4d passed, %d failed, %d skipped  (%ds)\n' "$name" "$ok" \
		"$notok" "$skips" $((SECONDS - start))
	grep -A12 '^not ok' "$log" | sed 's/^/    /'
}

# The integration suites against one Python: $1 names it, $2 runs it,
# $3 is the root it runs in ("" for the host's).
run_integration() {
	local label=$1 python=$2 root=$3 t n
	for t in tests/integration/test_*.py; do
		n=$(basename "$t" .py)
		PYTHON=$python NDSPY_TARGET_ROOT=$root \
			run_suite "${n#test_}$label" /usr/bin/python3 "$t"
	done
	# show, list and why again, on a gcore core of the same target
	for n in show list why; do
		NDSPY_CORE=1 PYTHON=$python NDSPY_TARGET_ROOT=$root \
			run_suite "$n[core]$label" /usr/bin/python3 \
			"tests/integration/test_$n.py"
	done
}

skip() {
	echo "skipped: $1"
	skipped=$((skipped + 1))
}

if [ "${NDSPY_MATRIX:-1}" != 0 ]; then
	# shellcheck disable=SC2086 # a list of labels
	bash tests/matrix/targets ${NDSPY_MATRIX_PAIRS:-} >"$logs/targets.out" \
		2>"$logs/targets.err" &
	# shellcheck disable=SC2086
	bash tests/matrix/targets --no-numpy ${NDSPY_MATRIX_PAIRS:-} \
		>"$logs/bare.out" 2>"$logs/bare.err" &
fi

# Runs $4 (LABEL PYTHON ROOT: the suites of one pair) against each pair of
# $3 (an output of tests/matrix/targets: the pairs that could be built),
# unless NDSPY_MATRIX=0 (then $2 names what is skipped), but the host's
# own Python, which the first round ran. LABEL is $1[PAIR] and ROOT "" for
# the host's. $5, if given, lists the only pairs taken.
run_pairs() {
	local round=$1 what=$2 list=$3 suites=$4 only=${5:-} label root py
	if [ "${NDSPY_MATRIX:-1}" = 0 ]; then
		skip "$what (NDSPY_MATRIX=0)"
		return
	fi
	while read -r label root py; do
		if [ -n "$only" ] && [[ " $only " != *" $label "* ]]; then
			continue
		fi
		if [ "$root" = / ]; then
			[ "$py" = "$PYTHON" ] || "$suites" "$round[$label]" "$py" ""
		else
			"$suites" "$round[$label]" "chroot $root $py" "$root"
		fi
	done <"$list"
}

# The integration suites against each pair of the matrix. $1 labels the
# round; $2, if given, lists the only labels it takes.
run_matrix() {
	run_pairs "$1" "the Python/NumPy matrix" "$logs/targets.out" \
		run_integration "${2:-}"
}

# The suites whose targets need no NumPy against one Python (arguments as
# run_integration's).
no_numpy_suites() {
	local n
	for n in stacks np25; do
		PYTHON=$2 NDSPY_TARGET_ROOT=$3 \
			run_suite "$n${1%]}, no NumPy]" /usr/bin/python3 \
			"tests/integration/test_$n.py"
	done
}

# The Pythons no NumPy can be built for here (3.12, and the free-threaded
# 3.13t; see README). $1 labels the round.
run_no_numpy() {
	run_pairs "$1" "the Pythons without NumPy" "$logs/bare.out" \
		no_numpy_suites
}

for bin in "$@"; do
	CMOCKA_MESSAGE_OUTPUT=TAP run_suite "unit:$(basename "$bin")" "$bin"
done
# the build itself: make -j4 where Debian packages are missing
# (not for make test, NDSPY_BUILD=0: they build packages and chroots)
if [ "${NDSPY_BUILD:-1}" != 0 ]; then
	run_suite "make" /usr/bin/python3 tests/build/test_make.py
	run_suite "install" /usr/bin/python3 tests/build/test_install.py
	run_suite "deb" /usr/bin/python3 tests/build/test_deb.py
	run_suite "static" /usr/bin/python3 tests/build/test_static.py
else
	skip "the build suites (NDSPY_BUILD=0)"
fi
run_integration "" "$PYTHON" ""
if [ "${NDSPY_MATRIX:-1}" != 0 ]; then
	wait
	# a pair that could not be built is a failure; one this machine
	# has no interpreter for, a skip
	while read -r line; do
		echo "$line"
		case $line in
		*": skipped: "*) skipped=$((skipped + 1)) ;;
		*) failed=$((failed + 1)) ;;
		esac
	done < <(cat "$logs/targets.err" "$logs/bare.err")
	# the layout tables equal what each version's headers say
	# shellcheck disable=SC2046 # the chroots, one word each
	run_suite "layout" /usr/bin/python3 tests/layout/derive.py --check \
		$(awk '$2 != "/" { print $2 }' "$logs/targets.out" \
			"$logs/bare.out" | sort -u)
fi
run_matrix ""
run_no_numpy ""

# libFuzzer: committed inputs replayed, then NDSPY_FUZZ_SECONDS (60) each
if [ -n "${NDSPY_FUZZERS:-}" ]; then
	run_suite "fuzz" bash tests/fuzz/run.sh "${NDSPY_FUZZ_SECONDS:-60}" \
		$NDSPY_FUZZERS
fi

# TAP: one failure per sanitizer report written under $1.
sanitizer_reports() {
	local f n=0
	for f in "$1"/report.*; do
		# ASan may open its log and write nothing (a process killed
		# on purpose by test_kill), or LeakSanitizer only say it could
		# not stop the threads of one that a kill reached as it exited
		# ("Unable to get registers"): only a finding is a report
		[ -s "$f" ] || continue
		grep -qv 'Unable to get registers from thread' "$f" || continue
		n=$((n + 1))
		echo "not ok $n - sanitizer report $f"
		head -n 30 "$f" | sed 's/^/#   /'
	done
	echo "ok $((n + 1)) - the sanitizer build wrote $n reports"
	echo "1..$((n + 1))"
}

# The same suites on the ASan+UBSan build. A finding aborts the program
# (the suite sees it die) and leaves a report in $sanlogs, each one a
# failure of its own: a suite that does not look at ndspy's exit status
# cannot hide it.
if [ -n "${NDSPY_SAN:-}" ]; then
	sanlogs=$PWD/$logs/san
	rm -rf "$sanlogs"
	mkdir -p "$sanlogs"
	chmod 1777 "$sanlogs" # ndspy also runs as an unprivileged user
	# the caller's options are kept, but not over where reports go
	export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$sanlogs/report"
	export UBSAN_OPTIONS="print_stacktrace=1:${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$sanlogs/report"
	for bin in $NDSPY_SAN_UNIT; do
		CMOCKA_MESSAGE_OUTPUT=TAP run_suite \
			"unit[san]:$(basename "$bin")" "$bin"
	done
	export NDSPY=$NDSPY_SAN
	run_integration "[san]" "$PYTHON" ""
	# the oldest and the newest pair beside the host's: each layout
	# family (frame objects, interpreter frames, tagged references,
	# NumPy 1.x and 2.x) once, so that a warm run stays under 30 min
	run_matrix "[san]" "${NDSPY_SAN_PAIRS:-bullseye-3.9 sid-3.15}"
	run_no_numpy "[san]"
	run_suite "sanitizer reports" sanitizer_reports "$sanlogs"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
