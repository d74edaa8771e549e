#!/bin/sh
# tests/fuzz/run.sh - fuzzes every tests/fuzz/fuzz_NAME.c for $FUZZ_SECONDS
# (default 60) each, one process at a time (the machine is shared).
#
#   FUZZ_SECONDS=300 sh tests/fuzz/run.sh            every target
#   FUZZ_TARGETS="http1 chunked" sh tests/fuzz/run.sh some of them
#
# Seeds come from tests/fuzz/corpus/NAME/ (read, never written); inputs the
# fuzzer finds interesting go to $B/fuzz/corpus/NAME/ (scratch, reused by the
# next run). Crashers are written to tests/fuzz/crashers/NAME/ and kept: once
# fixed, commit them, and replay.sh runs them as regression tests.
set -u
cd "$(dirname "$0")/../.."
. tests/fuzz/lib.sh
S=${FUZZ_SECONDS:-60}

if ! fuzz_have_runtime; then
	echo "skip: $FUZZ_WHY"
	exit 249
fi
fuzz_build_lib

found=0
for t in $(fuzz_targets); do
	fuzz_build_driver "$t" || { echo "FAIL $t: driver does not build"; found=1; continue; }
	mkdir -p "$FZ/corpus/$t" "tests/fuzz/crashers/$t" "tests/fuzz/corpus/$t"
	echo "== fuzz_$t for ${S}s"
	# shellcheck disable=SC2046
	if "$FZ/fuzz_$t" -max_total_time="$S" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
		-print_final_stats=1 $(fuzz_dict "$t") \
		-artifact_prefix="tests/fuzz/crashers/$t/" \
		"$FZ/corpus/$t" "tests/fuzz/corpus/$t" > "$FZ/run-$t.log" 2>&1; then
		grep -E '^(stat::number_of_executed_units|stat::new_units_added)' "$FZ/run-$t.log"
		echo "ok   $t"
	else
		found=1
		echo "CRASH $t (log: $FZ/run-$t.log), new files in tests/fuzz/crashers/$t/:"
		grep -E 'ERROR|check failed|runtime error|SUMMARY|Test unit written' \
			"$FZ/run-$t.log" | head -n 10
	fi
done
exit $found
