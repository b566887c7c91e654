#!/usr/bin/env bash
# The benchmark suites of issue 10 (make bench): builds lpbench and the Native AOT hello-world, then runs
# `lpbench run` against livepatchd and lpctl in --bin. One table on stdout, JSON in bench/results/bench-<time>.json.
#   bash bench/run.sh [--bin DIR] [lpbench run options]     e.g. --quick, --idle-seconds 10, --suite cli
set -euo pipefail
cd "$(dirname "$0")/.."
bin=artifacts/bin
if [[ ${1:-} == --bin ]]; then bin=$2; shift 2; fi
for b in livepatchd lpctl; do
  [[ -x $bin/$b ]] || { echo "bench: $bin/$b is missing; run 'make publish' first (make bench does)" >&2; exit 3; }
done
hello=artifacts/bench/hello
echo "bench: building lpbench and the Native AOT hello-world"
${DOTNET:-dotnet} build bench/LivePatchAgent.Bench -c Release -nologo -v:q -clp:ErrorsOnly -clp:NoSummary
${DOTNET:-dotnet} publish bench/hello -c Release -r "${RID:-linux-x64}" -o "$hello" -nologo -v:q -clp:ErrorsOnly -clp:NoSummary
args=("$@")
[[ " $* " == *" --json "* ]] || args+=(--json "bench/results/bench-$(date -u +%Y%m%d-%H%M%S).json")
exec bench/LivePatchAgent.Bench/bin/Release/net10.0/lpbench run --daemon "$bin/livepatchd" --lpctl "$bin/lpctl" \
  --hello "$hello/hello" "${args[@]}"
