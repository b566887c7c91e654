#!/usr/bin/env bash
# Coverage-guided fuzzing of the module reader and the signature parser: SharpFuzz instruments Core (and the
# CMS decoder it calls), afl-fuzz drives fuzz/LivePatchAgent.Fuzz for FUZZ_SECONDS per target.
#   bash scripts/fuzz.sh [module] [signature]          (default: both; make fuzz)
#   FUZZ_SECONDS=300 bash scripts/fuzz.sh signature
# Findings go to artifacts/fuzz/<target>/ (git-ignored). Exits 1 when a target crashed (an unhandled exception
# or a broken parser contract) or an input still hangs when replayed on its own.
# Runs as root on Debian 12: installs afl++ if missing; needs no manual AFL set-up.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
timeout_ms=${FUZZ_TIMEOUT_MS:-2000}
targets=("$@"); [[ ${#targets[@]} -gt 0 ]] || targets=(module signature)
for t in "${targets[@]}"; do
  [[ -d fuzz/corpus/$t ]] || { echo "fuzz: no target $t (the targets are: $(ls fuzz/corpus | xargs))" >&2; exit 2; }
done
out=artifacts/fuzz; bin=$out/bin; replay=$out/replay
dotnet=${DOTNET:-dotnet}

if ! command -v afl-fuzz > /dev/null; then
  echo "fuzz: installing afl++"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq afl++ > /dev/null
fi

echo "fuzz: publish and instrument"
$dotnet tool restore > /dev/null
rm -rf "$bin" "$replay"; mkdir -p "$out"
$dotnet publish fuzz/LivePatchAgent.Fuzz -c Release -o "$bin" -nologo -v:q > "$out/publish.log" 2>&1 \
  || { cat "$out/publish.log"; exit 1; }
# Instrumented code must only run under Fuzzer.Run (it writes to AFL's shared memory), so findings are
# replayed with an uninstrumented copy.
cp -r "$bin" "$replay"
# Our parsers, and the PKCS#7 decoder the signature target spends its time in (a package, not the framework).
for dll in LivePatchAgent.Core.dll System.Security.Cryptography.Pkcs.dll; do
  $dotnet tool run sharpfuzz "$bin/$dll" > /dev/null
done

# The target is `dotnet`, which carries no AFL instrumentation of its own; SharpFuzz speaks the fork-server
# protocol from inside the managed code. These machines are shared containers: no CPU binding, no governor,
# and core_pattern may be read-only (crashes are .NET exceptions, not core dumps, so nothing is lost).
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
export AFL_NO_UI=1 AFL_FORKSRV_INIT_TMOUT=60000
if [[ $(cat /proc/sys/kernel/core_pattern 2>/dev/null) == \|* ]]; then
  echo core 2>/dev/null > /proc/sys/kernel/core_pattern || true
fi

field() { awk -v k="$1" '$1 == k { print $3 }' "$2"; }
status=0
summary=()
for t in "${targets[@]}"; do
  echo "fuzz: $t for ${seconds}s (log: $out/$t.log)"
  rm -rf "${out:?}/$t"
  afl-fuzz -i "fuzz/corpus/$t" -o "$out/$t" -x "fuzz/dict/$t.dict" -t "$timeout_ms" -m none -V "$seconds" \
    -- "$dotnet" "$bin/LivePatchAgent.Fuzz.dll" "$t" > "$out/$t.log" 2>&1 \
    || { tail -30 "$out/$t.log"; echo "fuzz: afl-fuzz failed on $t" >&2; exit 1; }
  stats=$out/$t/default/fuzzer_stats
  crashes=$(find "$out/$t/default/crashes" -type f -name 'id:*' | sort)
  hangs=$(find "$out/$t/default/hangs" -type f -name 'id:*' | sort)
  confirmed=0
  # A hang under afl-fuzz can be the shared machine's load; one that also exceeds 10 s alone is real.
  for h in $hangs; do
    if ! timeout 10 "$dotnet" "$replay/LivePatchAgent.Fuzz.dll" "$t" "$h" > /dev/null 2>&1; then
      echo "fuzz: $t: $h hangs or fails when replayed"; confirmed=$((confirmed + 1))
    fi
  done
  for c in $crashes; do
    "$dotnet" "$replay/LivePatchAgent.Fuzz.dll" "$t" "$c" | head -3 || true
  done
  ncrashes=$(field saved_crashes "$stats"); nhangs=$(field saved_hangs "$stats")
  line=$(printf '%-9s %4ss  execs %9s  %7s exec/s  corpus %4s (%s new)  edges %4s  crashes %s  hangs %s (%s confirmed)' \
    "$t" "$(field run_time "$stats")" "$(field execs_done "$stats")" "$(field execs_per_sec "$stats")" \
    "$(field corpus_count "$stats")" "$(field corpus_found "$stats")" "$(field edges_found "$stats")" \
    "$ncrashes" "$nhangs" "$confirmed")
  summary+=("$line")
  [[ $ncrashes -eq 0 && $confirmed -eq 0 ]] || status=1
done

echo
printf 'fuzz: %s\n' "${summary[@]}" | tee "$out/summary.txt"
[[ $status -eq 0 ]] && echo "fuzz: no crashes" || echo "fuzz: findings in $out/<target>/default/{crashes,hangs}; replay one with: dotnet $replay/LivePatchAgent.Fuzz.dll TARGET FILE" >&2
exit $status
