#!/usr/bin/env bash
# Runs every suite (the cmocka binaries given as arguments, then the
# integration suites), each speaking TAP, and ends with one line:
# "N passed, N failed". Exits non-zero if anything failed. Full output of
# each suite is kept in build/test-logs/.
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
logs=build/test-logs
mkdir -p "$logs"
passed=0 failed=0

run_suite() {
	local name=$1; shift
	local log=$logs/$name.tap start=$SECONDS
	"$@" >"$log" 2>&1
	local rc=$?
	local ok notok planned ran
	ok=$(grep -c '^ok ' "$log")
	notok=$(grep -c '^not ok ' "$log")
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
	printf '%-16s %4d passed, %d failed, %d skipped  (%ds)\n' "$name" "$ok" \
		"$notok" "$(grep -c '# SKIP' "$log")" $((SECONDS - start))
	grep -A12 '^not ok' "$log" | sed 's/^/    /'
}

for bin in "$@"; do
	CMOCKA_MESSAGE_OUTPUT=TAP run_suite "unit:$(basename "$bin")" "$bin"
done
for t in tests/integration/test_*.py; do
	n=$(basename "$t" .py)
	run_suite "${n#test_}" "$PYTHON" "$t"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
