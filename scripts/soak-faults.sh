#!/bin/sh
# Runs the controller fault suite (test/controller/faults.test.ts) N times in a row (default 20) while two busy
# processes keep both cores loaded, and prints how many runs passed. A flaky test shows up here, not in CI.
#   scripts/soak-faults.sh [runs] [test file]
# Exit status 0 only when every run passed. Logs of failed runs are kept (their directory is printed); each holds the
# controllers' logs and, for every wait, what it waited for and how long (SPILLWAY_TEST_TRACE).
set -u
export SPILLWAY_TEST_TRACE=1
runs=${1:-20}
file=${2:-test/controller/faults.test.ts}
cd "$(dirname "$0")/.." || exit 2
node scripts/build-go-tools.mjs >/dev/null || exit 2
logs=$(mktemp -d "${TMPDIR:-/tmp}/spillway-soak.XXXXXX")

# The load: one spinning process per core, stopped however this script ends.
load=""
for _ in 1 2; do
  node -e 'for (;;) {}' &
  load="$load $!"
done
trap 'kill $load 2>/dev/null' EXIT
trap 'exit 130' INT TERM

pass=0
i=1
while [ "$i" -le "$runs" ]; do
  start=$(date +%s)
  if node --import tsx --test "$file" >"$logs/run-$i.log" 2>&1; then
    pass=$((pass + 1))
    rm -f "$logs/run-$i.log"
    echo "run $i/$runs: pass ($(( $(date +%s) - start )) s, load average $(cut -d' ' -f1 /proc/loadavg))"
  else
    echo "run $i/$runs: FAIL ($(( $(date +%s) - start )) s, load average $(cut -d' ' -f1 /proc/loadavg)), log: $logs/run-$i.log"
  fi
  i=$((i + 1))
done
echo "$file: $pass of $runs runs passed with both cores loaded"
[ "$pass" -eq "$runs" ] && rmdir "$logs" 2>/dev/null
[ "$pass" -eq "$runs" ]
