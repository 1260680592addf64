#!/bin/bash
# run_one.sh TARGET BUILD SECONDS FUZZ_DIR - one libFuzzer run (tests/fuzz/Makefile `fuzz`).
# Writes BUILD/logs/TARGET.log and a one-line BUILD/logs/TARGET.summary
# (target, seconds, execs, execs/s, corpus, crashes, cov, ft, result);
# exits 1 when the target crashed, leaked, timed out or ran out of memory.
t=$1 build=$2 secs=$3 dir=$4
bin=$build/bin/fuzz_$t
new=$build/corpus/$t
art=$build/artifacts/$t
log=$build/logs/$t.log
mkdir -p "$new" "$art"
case $t in
manifest | kubeconfig) d=yaml ;;
config) d= ;;
*) d=json ;;
esac
dict=()
[ -f "$dir/dict/$t.dict" ] && d=$t
[ -n "$d" ] && dict=(-dict="$dir/dict/$d.dict")
stamp=$build/logs/$t.start
: >"$stamp"
t0=$(date +%s)
ASAN_OPTIONS=detect_leaks=1 \
UBSAN_OPTIONS=print_stacktrace=1 \
"$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$art/" "${dict[@]}" \
	"$new" "$dir/corpus/$t" >"$log" 2>&1
rc=$?
elapsed=$(($(date +%s) - t0))
# artifacts (crash-, leak-, timeout-, oom-) written by this run
crashes=$(find "$art" -type f -newer "$stamp" 2>/dev/null | wc -l)
execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
last=$(grep -E '^#[0-9]+' "$log" | tail -1)
cov=$(echo "$last" | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+')
ft=$(echo "$last" | grep -oE 'ft: [0-9]+' | grep -oE '[0-9]+')
corp=$(echo "$last" | grep -oE 'corp: [0-9]+' | grep -oE '[0-9]+')
if [ $rc -eq 0 ]; then
	result=ok
else
	result="CRASH (rc $rc): $(ls -t "$art" 2>/dev/null | head -1) - see $log"
fi
printf '%-14s %7s %11s %8s %7s %7s %6s %6s  %s\n' "$t" "$elapsed" "${execs:-?}" "${rate:-?}" \
	"${corp:-?}" "$crashes" "${cov:-?}" "${ft:-?}" "$result" >"$build/logs/$t.summary"
echo "fuzz_$t: done ($result)"
exit $((rc != 0))
