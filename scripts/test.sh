#!/usr/bin/env bash
# npm test, after the type-check: every vitest project on the machine's Node (20 here), then again on Node 24
# (scripts/node24.sh). Both passes always run, so a missing Node 24 still leaves the first pass's results; the exit
# status is non-zero when either pass fails or cannot start. Extra arguments go to both vitest runs.
#
# The Node 24 pass leaves out three integration files that exercise no Node-facing code of their own, because
# running them twice would take the suite past 25 minutes on a 2-core machine: tokenmap.test.ts (about 5 minutes,
# the token map's arithmetic against `nodetool getendpoints` on two 3-node clusters; the unit TokenMap tests run on
# both), harness.test.ts (scripts/cassandra.sh checked with the DataStax driver) and the shell's copy.test.ts (about
# a minute, 100,000 rows through COPY TO and FROM: the shell's own tests and the driver's run on both). Sockets, TLS, timers, compression and
# the CRCs run on both Nodes: the unit projects and every other integration file.
set -uo pipefail
cd "$(dirname "$0")/.."

summary="$(mktemp)" failures="$(mktemp)"
trap 'rm -f "$summary" "$failures"' EXIT
export TEST_SUMMARY_FILE="$summary" TEST_FAILURES_FILE="$failures"
vitest=(node_modules/vitest/vitest.mjs run --reporter=default --reporter=./scripts/summary-reporter.ts)
status=0

pass() {   # LABEL COMMAND..: runs one pass, timed, and remembers a failure
  local label=$1 start=$SECONDS code; shift
  echo; echo "=== tests on $label ==="
  "$@"; code=$?
  echo "=== $label: exit $code after $((SECONDS - start)) s ==="
  [ "$code" = 0 ] || status=1
}

pass "Node $(node --version)" node "${vitest[@]}" "$@"
pass "Node 24" scripts/node24.sh node "${vitest[@]}" \
  --exclude packages/driver/test/integration/tokenmap.test.ts --exclude packages/testing/test/integration/harness.test.ts \
  --exclude packages/cli/test/integration/copy.test.ts "$@"

# The closing line: both passes added up (a pass that could not start adds nothing, and the exit status says so).
# The failures are listed after it, so that a log cut to its tail still names them.
awk '{ p += $1; f += $2; s += $3 } END { printf "\ntests: %d passed, %d failed, %d skipped\n", p, f, s }' "$summary"
[ -s "$failures" ] && { echo "failed:"; sed 's/^/  /' "$failures"; }
exit "$status"
