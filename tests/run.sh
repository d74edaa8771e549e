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

# conformance, both modes side by side (every case leases its own machine-wide
# address slot, and cases mostly wait on the network), then the per-case
# verdicts of the two modes must be identical. The kernel mode puts the
# runner, gwbpf and the backends in one cgroup given to gwbpf --cgroup with
# --bpf msg,steer, so requests really take the sk_msg bypass and the L7
# forwarding (one case at a time: the cases share the cgroup's sockops). Next to them, mode no-bpf with
# every HTTP request over HTTP/2 (--client h2c, the cases that send HTTP
# requests), which must pass on its own
if [ "${1:-}" = "--conformance-both" ]; then
	out=$B/test-results
	python3 tests/conformance/run.py --mode kernel > "$out/conformance-bpf.txt" 2>&1 &
	pid1=$!
	python3 tests/conformance/run.py --mode no-bpf --client h2c -j 2 \
		> "$out/conformance-h2c.txt" 2>&1 &
	pid3=$!
	python3 tests/conformance/run.py --mode no-bpf -j 3 > "$out/conformance-no-bpf.txt" 2>&1
	rc2=$?
	wait $pid1
	rc1=$?
	wait $pid3
	rc3=$?
	cat "$out/conformance-bpf.txt" "$out/conformance-no-bpf.txt" "$out/conformance-h2c.txt"
	if [ $rc1 -eq 249 ] && [ $rc2 -eq 249 ]; then
		tail -n 1 "$out/conformance-no-bpf.txt"
		exit 249
	fi
	if [ $rc3 -ne 0 ] && [ $rc3 -ne 249 ]; then
		echo "conformance: cases failed with every request over HTTP/2 (--client h2c):"
		grep -E '^FAIL ' "$out/conformance-h2c.txt"
		exit 1
	fi
	grep -E '^(PASS|FAIL|SKIP) ' "$out/conformance-bpf.txt" | awk '{print $1, $2}' | sort > "$out/conf-bpf.verdicts"
	grep -E '^(PASS|FAIL|SKIP) ' "$out/conformance-no-bpf.txt" | awk '{print $1, $2}' | sort > "$out/conf-nobpf.verdicts"
	if ! cmp -s "$out/conf-bpf.verdicts" "$out/conf-nobpf.verdicts"; then
		echo "conformance: verdicts differ between the kernel path and --no-bpf:"
		diff "$out/conf-bpf.verdicts" "$out/conf-nobpf.verdicts"
		exit 1
	fi
	[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ]
	exit $?
fi
suites=${*:-"conformance unit bpf integration fuzz e2e"}
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
		[ -f tests/conformance/run.py ] &&
			echo "conformance:bpf+no-bpf sh tests/run.sh --conformance-both" >> "$list" ;;
	fuzz)
		[ -f tests/fuzz/replay.sh ] && echo "fuzz:corpus-replay sh tests/fuzz/replay.sh" >> "$list" ;;
	e2e)
		[ -f tests/e2e/kind/run.sh ] && echo "e2e:kind env GW_SKIP_RC=249 sh tests/e2e/kind/run.sh" >> "$list" ;;
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
	if [ "$st" = SKIP ]; then printf "      %s\n" "$(tail -n 1 "$log")"; fi
	if [ "$st" = FAIL ]; then echo "----- $name (last 40 lines of $log)"; tail -n 40 "$log"; echo "-----"; fi
'

pass=$(grep -c '^PASS' "$R/results")
fail=$(grep -c '^FAIL' "$R/results")
skip=$(grep -c '^SKIP' "$R/results")
echo
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
