#!/bin/sh
# tests/fuzz/replay.sh - regression run of every libFuzzer driver over its
# seed corpus (tests/fuzz/corpus/NAME/) and its kept crashers
# (tests/fuzz/crashers/NAME/), each input once, no fuzzing. Run by
# `make test`. Exit 0 when no input crashes, 249 (skip) when clang's fuzzer
# runtime is missing, 1 otherwise.
set -u
cd "$(dirname "$0")/../.."
. tests/fuzz/lib.sh

if ! fuzz_have_runtime; then
	echo "skip: $FUZZ_WHY"
	exit 249
fi
fuzz_build_lib

pass=0
fail=0
for t in $(fuzz_targets); do
	if ! fuzz_build_driver "$t"; then
		echo "FAIL $t: driver does not build"
		fail=$((fail + 1))
		continue
	fi
	inputs=$(find "tests/fuzz/corpus/$t" "tests/fuzz/crashers/$t" -type f 2>/dev/null | sort)
	if [ -z "$inputs" ]; then
		echo "FAIL $t: no corpus in tests/fuzz/corpus/$t"
		fail=$((fail + 1))
		continue
	fi
	n=$(echo "$inputs" | wc -l)
	# one process for the whole corpus; on failure, one per input to name them
	# shellcheck disable=SC2086
	if "$FZ/fuzz_$t" -timeout=10 -rss_limit_mb=2048 $inputs > "$FZ/replay-$t.log" 2>&1; then
		pass=$((pass + n))
		echo "ok   $t: $n inputs"
		continue
	fi
	for f in $inputs; do
		if "$FZ/fuzz_$t" -timeout=10 -rss_limit_mb=2048 "$f" > "$FZ/replay-one.log" 2>&1; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1))
			echo "FAIL $t: $f"
			grep -E 'ERROR|check failed|runtime error|SUMMARY' "$FZ/replay-one.log" | head -n 5
		fi
	done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
