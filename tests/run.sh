#!/bin/sh
# tests/run.sh - runs the test suites and prints one summary line.
#
# Usage: tests/run.sh [unit|bpf|integration|conformance|fuzz|e2e]...  (default: all)
# Every test is one command; independent tests run two at a time (the machine
# has two cores). A test exits 0 (pass), 249 (skip, with a reason on its last
# line) or anything else (fail). Logs: $B/test-results/<name>.log
set -u
B=${B:-build}
cd "$(dirname "$0")/.."
suites=${*:-"unit bpf integration conformance fuzz e2e"}
R=$B/test-results
rm -rf "$R"
mkdir -p "$R"
list=$R/list

: > "$list"
for s in $suites; do
	case $s in
	unit)
		for t in "$B"/tests/unit/test_*; do
			[ -x "$t" ] && echo "unit:$(basename "$t") $t" >> "$list"
		done ;;
	bpf)
		[ -x "$B/tests/bpf/run_bpf_tests" ] && echo "bpf:prog_test_run $B/tests/bpf/run_bpf_tests" >> "$list" ;;
	integration)
		for t in tests/integration/test_*.sh; do
			[ -f "$t" ] && echo "integration:$(basename "$t" .sh) sh $t" >> "$list"
		done ;;
	conformance)
		[ -f tests/conformance/run.py ] && {
			echo "conformance:bpf python3 tests/conformance/run.py --mode bpf" >> "$list"
			echo "conformance:no-bpf python3 tests/conformance/run.py --mode no-bpf" >> "$list"
		} ;;
	fuzz)
		[ -f tests/fuzz/replay.sh ] && echo "fuzz:corpus-replay sh tests/fuzz/replay.sh" >> "$list" ;;
	e2e)
		[ -f tests/e2e/kind/run.sh ] && echo "e2e:kind sh tests/e2e/kind/run.sh" >> "$list" ;;
	*) echo "tests/run.sh: unknown suite '$s'" >&2; exit 2 ;;
	esac
done

: > "$R/results"
while read -r name cmd; do
	# conformance runs its two modes itself in sequence; everything else pairs up
	printf '%s\0%s\0' "$name" "$cmd"
done < "$list" | xargs -0 -n 2 -P 2 sh -c '
	R='"$R"'; B='"$B"'; name=$0; cmd=$1
	log="$R/$(echo "$name" | tr ":/" "__").log"
	start=$(date +%s)
	B=$B timeout 1500 $cmd > "$log" 2>&1 < /dev/null
	rc=$?
	end=$(date +%s)
	case $rc in 0) st=PASS ;; 249) st=SKIP ;; *) st=FAIL ;; esac
	echo "$st $name" >> "$R/results"
	printf "%-5s %-50s %4ss\n" "$st" "$name" "$((end - start))"
	if [ "$st" = SKIP ]; then printf "      skip: %s\n" "$(tail -n 1 "$log")"; fi
	if [ "$st" = FAIL ]; then echo "----- $name (last 40 lines of $log)"; tail -n 40 "$log"; echo "-----"; fi
'

pass=$(grep -c '^PASS' "$R/results")
fail=$(grep -c '^FAIL' "$R/results")
skip=$(grep -c '^SKIP' "$R/results")
echo
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
