#!/usr/bin/env bash
# metrics_overhead: what updating the metrics costs the daemon, measured as the performance issue
# asks ("under 1 %"): pipeline_bench drains with a Release daemon that updates every metric and
# with one built with FRAISEQL_METRIC_UPDATES=OFF (updates compiled out), alternated run by run in
# one session, webhooks first, then --actions none. Prints events/s and the daemon's CPU seconds
# per run, min/median/max per build, and the overhead: median daemon CPU per event with metrics
# over without (the figure to compare on a shared machine; events/s is printed too, noisier).
#
# Usage (after scripts/services start):
#   bench/metrics_overhead.sh [--on DIR] [--off DIR] [--runs N] [--events N] [--modes "webhook none"]
# DIR are Release build directories holding bin/fraiseql-observer; --on also provides
# pipeline_bench and fast_http_receiver, used for both daemons. Defaults: build/release and
# build/release-metrics-off, the latter configured with
#   cmake -S . -B build/release-metrics-off -G Ninja -DCMAKE_BUILD_TYPE=Release \
#     -DFRAISEQL_BUILD_TESTS=OFF -DFRAISEQL_BUILD_BENCH=ON -DFRAISEQL_METRIC_UPDATES=OFF
#   ninja -C build/release-metrics-off fraiseql-observer
set -euo pipefail
cd "$(dirname "$0")/.."

on=build/release off=build/release-metrics-off runs=5 events=100000 modes="webhook none"
while [ $# -gt 0 ]; do
  case $1 in
    --on) on=$2; shift 2 ;;
    --off) off=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --events) events=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    *) echo "metrics_overhead: unknown argument '$1' (see the usage at the top of $0)" >&2; exit 2 ;;
  esac
done
bench=$on/bench/pipeline_bench
for file in "$bench" "$on/bin/fraiseql-observer" "$off/bin/fraiseql-observer"; do
  [ -x "$file" ] || { echo "metrics_overhead: $file is missing: build it first (see the usage at the top of $0)" >&2; exit 2; }
done
# The two daemons must differ in the option alone.
grep -q '^FRAISEQL_METRIC_UPDATES:BOOL=ON' "$on/CMakeCache.txt" ||
  { echo "metrics_overhead: $on is not built with FRAISEQL_METRIC_UPDATES=ON" >&2; exit 2; }
grep -q '^FRAISEQL_METRIC_UPDATES:BOOL=OFF' "$off/CMakeCache.txt" ||
  { echo "metrics_overhead: $off is not built with -DFRAISEQL_METRIC_UPDATES=OFF" >&2; exit 2; }
[ -n "${FRAISEQL_TEST_PG_URL:-}" ] || source .test-services/env

results=$(mktemp)
trap 'rm -f "$results"' EXIT

# One drain; appends "mode build events_per_s daemon_cpu_s load1" to $results.
run() {
  local mode=$1 build=$2 dir=$3 out load
  load=$(cut -d' ' -f1 /proc/loadavg)
  if ! out=$("$bench" drain --events "$events" --actions "$mode" --observer "$dir/bin/fraiseql-observer" 2>&1); then
    echo "metrics_overhead: pipeline_bench failed ($mode, $build):" >&2
    echo "$out" >&2
    exit 1
  fi
  local eps cpu
  eps=$(sed -n 's/^drain: .* = \([0-9.]*\) events\/s$/\1/p' <<<"$out")
  cpu=$(sed -n 's/^cpu seconds during the run: daemon \([0-9.]*\),.*/\1/p' <<<"$out")
  [ -n "$eps" ] && [ -n "$cpu" ] || { echo "metrics_overhead: unexpected output:" >&2; echo "$out" >&2; exit 1; }
  printf '%-7s %-3s run %2d: %8s events/s, daemon %6s CPU s (load %s)\n' "$mode" "$build" "$4" "$eps" "$cpu" "$load"
  echo "$mode $build $eps $cpu $load" >>"$results"
}

echo "metrics on: $on/bin/fraiseql-observer; off: $off/bin/fraiseql-observer; $events events, $runs runs each, alternated"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for mode in $modes; do
  for i in $(seq "$runs"); do
    run "$mode" on "$on" "$i"
    run "$mode" off "$off" "$i"
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

# min/median/max of column $3 of the rows of one mode and build.
awk -v events="$events" '
  function sort(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t } }
  function median(a, n) { return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
  function mean(a, n,   i, s) { for (i = 1; i <= n; i++) s += a[i]; return s / n }
  function variance_of_mean(a, n,   i, m, s) { m = mean(a, n); for (i = 1; i <= n; i++) s += (a[i] - m) ^ 2; return n > 1 ? s / (n - 1) / n : 0 }
  { key = $1 " " $2; n[key]++; eps[key, n[key]] = $3; cpu[key, n[key]] = $4; if (!($1 in seen)) { seen[$1] = 1; order[++modes] = $1 } }
  END {
    printf "\n%-7s %-5s %28s   %26s   %s\n", "mode", "build", "events/s min/median/max", "daemon CPU s min/median/max", "CPU us/event (median)"
    for (m = 1; m <= modes; m++) {
      mode = order[m]
      for (b = 1; b <= 2; b++) {
        build = b == 1 ? "on" : "off"; key = mode " " build; k = n[key]
        for (i = 1; i <= k; i++) { e[i] = eps[key, i]; c[i] = cpu[key, i] }
        sort(e, k); sort(c, k)
        med_eps[build] = median(e, k); med_cpu[build] = median(c, k)
        mean_cpu[build] = mean(c, k); var_cpu[build] = variance_of_mean(c, k)
        printf "%-7s %-5s %8.0f /%8.0f /%8.0f   %7.2f /%7.2f /%7.2f   %.2f\n", mode, build, e[1], med_eps[build], e[k], c[1], med_cpu[build], c[k], med_cpu[build] / events * 1e6
      }
      printf "%-7s overhead of metric updates: daemon CPU %+.2f %%, events/s %+.2f %% (medians)\n", mode,
             (med_cpu["on"] / med_cpu["off"] - 1) * 100, (med_eps["off"] / med_eps["on"] - 1) * 100
      # What the noise allows this many runs to tell apart: about 95 % of repeated sessions would
      # find the mean difference within this margin of the true one.
      printf "%-7s mean daemon CPU: on %.3f s, off %.3f s, difference %+.2f %% +- %.2f %% (2 standard errors)\n", mode,
             mean_cpu["on"], mean_cpu["off"], (mean_cpu["on"] / mean_cpu["off"] - 1) * 100,
             2 * sqrt(var_cpu["on"] + var_cpu["off"]) / mean_cpu["off"] * 100
    }
  }' "$results"
