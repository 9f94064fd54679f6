#!/usr/bin/env bash
# Instructions per operation of one benchmark runner on the stub target, counted by valgrind (cachegrind, no cache
# simulation), for comparisons that this VM's fast and slow phases do not move: CPU time per operation swings by
# up to 40% between runs, an instruction count by a few percent (how many requests share a read or a write
# still depends on timing). Run it more than once.
#
#   bash bench/instructions.sh DRIVER [WORKLOAD=insert] [CONCURRENCY=256] [BENCH_DIR=.]
#
# DRIVER: raw-v4 or an effect-cql runner (effect-cql, effect-cql-bulk, ...). The runner runs twice under valgrind,
# for 100,000 and 300,000 operations; the difference over 200,000 is the steady state's count per operation, free of
# start-up and compilation. BENCH_DIR: another checkout with its bench built, for A/B. Needs valgrind and a built
# bench (node bench/build.mjs); takes about two minutes a driver.
set -euo pipefail
driver=$1
workload=${2:-insert}
concurrency=${3:-256}
dir=$(cd "${4:-.}" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
host=127.0.1.1
port=9042
runner=effect-cql
[ "$driver" = raw-v4 ] && runner=raw

node "$here/bench/.build/stub-target.mjs" "$host" "$port" 100 >/dev/null 2>&1 &
stub=$!
trap 'kill $stub 2>/dev/null || true' EXIT
sleep 1

count() {
  local spec="{\"driver\":\"$driver\",\"target\":{\"name\":\"stub\",\"host\":\"$host\",\"port\":$port},\"workload\":\"$workload\",\"concurrencies\":[$concurrency],\"warmupS\":1,\"durationS\":100000,\"maxOps\":$1,\"pageSize\":5000,\"rows\":1000000}"
  (cd "$dir" && valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null node bench/.build/runners/$runner.mjs "$spec" 2>&1 >/dev/null) |
    sed -nE 's/.*I[[:space:]]+refs:[[:space:]]*([0-9,]+).*/\1/p' | tr -d ,
}
small=$(count 100000)
large=$(count 300000)
echo "$driver $workload at $concurrency: $(( (large - small) / 200000 )) instructions per operation"
