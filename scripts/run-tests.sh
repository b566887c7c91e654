#!/usr/bin/env bash
# Runs the unit and integration tests, then prints one plain summary line per suite and a total:
#   unit: 153 passed, 0 failed
set -uo pipefail
config=${1:-Release}
cd "$(dirname "$0")/.."
results=artifacts/test-results
rm -rf "$results"; mkdir -p "$results"

${DOTNET:-dotnet} build LivePatchAgent.sln -c "$config" -nologo -v:q || exit 1

status=0
for suite in Unit Integration; do
  ${DOTNET:-dotnet} test "tests/LivePatchAgent.$suite.Tests" -c "$config" --no-build -nologo \
    --logger "trx;LogFileName=$suite.trx" --results-directory "$results" || status=1
done

total_passed=0; total_failed=0
for suite in Unit Integration; do
  trx="$results/$suite.trx"
  if [[ ! -f $trx ]]; then
    echo "${suite,,}: no results (the test run did not complete)"; status=1; continue
  fi
  # <Counters total=".." executed=".." passed=".." failed=".." .../>
  passed=$(grep -o '<Counters [^>]*' "$trx" | grep -o ' passed="[0-9]*"' | grep -o '[0-9]*')
  failed=$(grep -o '<Counters [^>]*' "$trx" | grep -o ' failed="[0-9]*"' | grep -o '[0-9]*')
  echo "${suite,,}: ${passed:-0} passed, ${failed:-0} failed"
  total_passed=$((total_passed + ${passed:-0})); total_failed=$((total_failed + ${failed:-0}))
  [[ ${passed:-0} -gt 0 ]] || status=1
done
echo "tests: $total_passed passed, $total_failed failed"
[[ $total_failed -eq 0 ]] || status=1
exit $status
