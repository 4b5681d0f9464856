#!/usr/bin/env bash
# run.sh SECONDS HARNESS...: for each libFuzzer harness (build/fuzz/fuzz_X),
# replays its seeds (seeds/X) and regression inputs (regress/X), then fuzzes
# for SECONDS from them, all harnesses at once. Speaks TAP. New inputs go to
# build/fuzz/corpus/X, the last run's findings to build/fuzz/findings/: a
# finding, once fixed, is committed under regress/X so that it is
# replayed for ever.
set -u
cd "$(dirname "$0")/../.."
seconds=$1; shift
out=build/fuzz
rm -rf "$out/findings"
mkdir -p "$out/findings"
n=0 failed=0

tap() { # tap OK NAME [LOG]
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && tail -n 40 "$3" | sed 's/^/#   /'
	fi
}

inputs() { # the committed inputs of harness $1
	find "tests/fuzz/seeds/$1" "tests/fuzz/regress/$1" -type f 2>/dev/null
}

# libFuzzer's own limits turn hangs, leaks and huge allocations into
# findings; what the commands print is closed (-close_fd_mask), reports
# are not.
limits=(-timeout=20 -rss_limit_mb=2048 -malloc_limit_mb=512 -close_fd_mask=3)

for bin in "$@"; do
	name=${bin##*/fuzz_}
	log=$out/replay-$name.log
	mapfile -t files < <(inputs "$name")
	if [ "${#files[@]}" = 0 ]; then
		# given no file, libFuzzer would fuzz for ever
		echo "no committed inputs in tests/fuzz/seeds/$name" >"$log"
		tap 1 "fuzz_$name: committed inputs" "$log"
		continue
	fi
	"$bin" "${limits[@]}" "${files[@]}" >"$log" 2>&1
	tap $? "fuzz_$name: ${#files[@]} committed inputs replay cleanly" "$log"
done

# fuzz_core also starts from a core with memory in it, made here
live=$out/live-core
if [ ! -s "$live/python-S" ] || [ ! -s "$live/snapshot-S" ]; then
	/usr/bin/python3 tests/fuzz/record.py --live-core "$live" \
		>"$out/live-core.log" 2>&1
	tap $? "a live core for fuzz_core" "$out/live-core.log"
fi

pids=()
for bin in "$@"; do
	name=${bin##*/fuzz_}
	mkdir -p "$out/corpus/$name"
	dirs=("$out/corpus/$name")
	for d in tests/fuzz/seeds/$name tests/fuzz/regress/$name; do
		[ -d "$d" ] && dirs+=("$d")
	done
	[ "$name" = core ] && dirs+=("$live")
	# libFuzzer would cut longer seeds to 1 MiB
	max=$(find "${dirs[@]}" -type f -printf '%s\n' | sort -n | tail -n 1)
	"$bin" "${limits[@]}" -max_len="${max:-4096}" \
		-max_total_time="$seconds" -print_final_stats=1 \
		-artifact_prefix="$out/findings/$name-" "${dirs[@]}" \
		>"$out/fuzz-$name.log" 2>&1 &
	pids+=($!)
done
i=0
for bin in "$@"; do
	name=${bin##*/fuzz_}
	wait "${pids[$i]}"
	rc=$?
	i=$((i + 1))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
		"$out/fuzz-$name.log")
	found=$(ls "$out/findings/$name-"* 2>/dev/null | tail -n 1)
	tap "$rc" "fuzz_$name: ${seconds} s, ${runs:-?} runs, no finding${found:+ (finding: $found)}" \
		"$out/fuzz-$name.log"
done
echo "1..$n"
[ "$failed" = 0 ]
