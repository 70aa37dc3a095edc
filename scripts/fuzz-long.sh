#!/bin/sh
# Fuzzes every libFuzzer target of the asan preset for a long time (default one hour each), with a
# corpus that persists between runs, and prints one line per target: executions, coverage
# (edges) and features reached, and whether it found a crash. docs/fuzzing.md records a run.
#
#   scripts/fuzz-long.sh                   every target, 3600 s each, two at a time
#   scripts/fuzz-long.sh 600 dns_response_fuzz protocol_fuzz
#   JOBS=4 NICE=19 scripts/fuzz-long.sh    four at a time, at the lowest priority
#
# Needs the asan preset built (./build.sh test builds it, or: cmake --preset asan &&
# cmake --build --preset asan). The binaries are copied first, so a rebuild during the run does
# not disturb it. Corpora: build/fuzz-long/corpus/<target>/ (seeded from fuzz/corpus/<target>/);
# logs: build/fuzz-long/<target>.log; crashes: build/fuzz-long/crash-<target>-*.
set -eu
cd "$(dirname "$0")/.."

seconds=${1:-3600}
[ $# -gt 0 ] && shift
case $seconds in '' | *[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;; esac
jobs=${JOBS:-2}
nice=${NICE:-0}
bin_dir=build/asan/fuzz
out=build/fuzz-long
if [ ! -d "$bin_dir" ]; then
    echo "fuzz-long: no $bin_dir: build the asan preset first (cmake --preset asan && cmake --build --preset asan)" >&2
    exit 1
fi
targets=${*:-$(cd "$bin_dir" && ls -1 | grep '_fuzz$')}
mkdir -p "$out/bin" "$out/corpus"
for t in $targets; do
    [ -x "$bin_dir/$t" ] || { echo "fuzz-long: no target $t in $bin_dir" >&2; exit 2; }
    cp "$bin_dir/$t" "$out/bin/$t"
    mkdir -p "$out/corpus/$t"
done

run_one() {
    t=$1
    seeds=""
    [ -d "fuzz/corpus/$t" ] && seeds="fuzz/corpus/$t"
    # -max_total_time bounds the run; -rss_limit_mb and -timeout turn a blow-up into a finding.
    ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        nice -n "$nice" "$out/bin/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$out/crash-$t-" "$out/corpus/$t" $seeds \
        >"$out/$t.log" 2>&1 && status=ok || status="FAILED (exit $?)"
    # The last status line ("#N DONE cov: C ft: F corp: ...") and the final stats.
    last=$(grep -E '^#[0-9]+' "$out/$t.log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log" | tail -n 1)
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(ls -1 "$out/corpus/$t" | wc -l)
    printf '%-24s %6ss %14s execs  cov %6s  ft %7s  corpus %6s  %s\n' "$t" "$seconds" "${execs:-?}" \
        "${cov:-?}" "${ft:-?}" "$corp" "$status"
}

echo "fuzzing $(echo $targets | wc -w) targets for $seconds s each, $jobs at a time (logs in $out/)"
running=0
for t in $targets; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait
        running=0
    fi
done
wait
if ls "$out"/crash-* >/dev/null 2>&1; then
    echo "fuzz-long: findings in $out/crash-*" >&2
    exit 1
fi
