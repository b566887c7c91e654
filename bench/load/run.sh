#!/usr/bin/env bash
# The load test of issue 8 (make bench-load): builds lpbench and runs `lpbench load` against the Native AOT
# livepatchd in --bin on a generated, changing fixture tree. Exits non-zero on any error or lost event.
#   bash bench/load/run.sh [--bin DIR] [lpbench load options]     e.g. --duration 10 --streams 16
# Results: the table on stdout, JSON in bench/results/load-<time>.json (or --json FILE).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=artifacts/bin
if [[ ${1:-} == --bin ]]; then bin=$2; shift 2; fi
if [[ ! -x $bin/livepatchd ]]; then
  echo "bench-load: $bin/livepatchd is missing; run 'make publish' first (make bench-load does)" >&2; exit 3
fi
${DOTNET:-dotnet} build bench/LivePatchAgent.Bench -c Release -nologo -v:q -clp:ErrorsOnly -clp:NoSummary
args=("$@")
[[ " $* " == *" --json "* ]] || args+=(--json "bench/results/load-$(date -u +%Y%m%d-%H%M%S).json")
exec bench/LivePatchAgent.Bench/bin/Release/net10.0/lpbench load --daemon "$bin/livepatchd" "${args[@]}"
