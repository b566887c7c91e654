#!/usr/bin/env bash
# Publishes livepatchd and lpctl as Native AOT into $3 and fails on any trim or AOT warning.
set -euo pipefail
config=${1:-Release}; rid=${2:-linux-x64}; out=${3:-artifacts/bin}
cd "$(dirname "$0")/.."
mkdir -p "$out"
log=$(mktemp); trap 'rm -f "$log"' EXIT
for p in Daemon:livepatchd Cli:lpctl; do
  proj=src/LivePatchAgent.${p%%:*}; name=${p##*:}
  echo "publish: $name (Native AOT, $rid)"
  if ! ${DOTNET:-dotnet} publish "$proj" -c "$config" -r "$rid" -o "$out/.$name" -p:TreatWarningsAsErrors=true -nologo -v:q > "$log" 2>&1; then
    cat "$log"; echo "publish: $name failed" >&2; exit 1
  fi
  if grep -E 'warning (IL[0-9]+|CS[0-9]+)' "$log"; then
    echo "publish: $name produced warnings (see above); a trim/AOT warning is a broken build" >&2; exit 1
  fi
  install -m 0755 "$out/.$name/$name" "$out/$name"
done
ls -l "$out/livepatchd" "$out/lpctl"
