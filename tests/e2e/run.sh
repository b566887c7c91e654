#!/usr/bin/env bash
# run.sh: the real-kernel e2e suite. Each scenario (tests/e2e/scenarios/NN-name.sh) runs in its own fresh QEMU
# boot of the current Debian kernel, with livepatchd and lpctl from --bin.
#
#   bash tests/e2e/run.sh [--bin DIR] [--deb FILE] [-j N] [--keep] [--list] [SCENARIO...]
#
#   --bin DIR   Native AOT livepatchd and lpctl (default: artifacts/bin, as made by "make publish")
#   --deb FILE  the livepatchd .deb that "# boot: systemd" scenarios install (default: the newest
#               artifacts/packages/livepatchd_*.deb, as made by "make deb")
#   -j N        run up to N VMs at once (default: $LIVEPATCHAGENT_E2E_JOBS or 2)
#   --keep      keep the results of passing scenarios too (by default only failures are kept)
#   --list      print the scenario names and exit
#   SCENARIO    a name (02-insmod-list), its file name, or its number (02); default: all
#
# Scenario header comments (anywhere in the leading comment block):
#   # cmdline: module.sig_enforce=1     extra guest kernel command line
#   # timeout: 240                      hard limit for the whole boot in seconds (default 180)
#   # boot: systemd                     boot a Debian system with systemd as PID 1 from a cached disk image and
#                                       install --deb in it (lib/sysboot.sh), instead of the initramfs guest
#   # boot: fleet                      run the scenario on the host, against two such guests reachable over ssh
#                                       (lib/fleet.sh): for the Ansible collection's playbooks
#
# Prints one PASS/FAIL line per scenario (with the first failed check as the reason), keeps the console log and
# guest evidence of failures under tests/e2e/results/<run>/<scenario>/, and ends with the line
# "e2e: N passed, N failed". Exits non-zero if any scenario failed.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/testbed.sh
source "$(dirname "$0")/lib/testbed.sh"

DEFAULT_TIMEOUT=180

usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; }

bin=$REPO_ROOT/artifacts/bin
deb=
jobs=${LIVEPATCHAGENT_E2E_JOBS:-2}
keep=0
list=0
wanted=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=${2:?--bin needs a directory}; shift 2 ;;
    --bin=*) bin=${1#--bin=}; shift ;;
    --deb) deb=${2:?--deb needs a file}; shift 2 ;;
    --deb=*) deb=${1#--deb=}; shift ;;
    -j) jobs=${2:?-j needs a number}; shift 2 ;;
    -j*) jobs=${1#-j}; shift ;;
    --keep) keep=1; shift ;;
    --list) list=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; exit 2 ;;
    *) wanted+=("$1"); shift ;;
  esac
done
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || e2e_die "-j needs a positive number, not '$jobs'"

# resolve_scenarios NAME...: scenario names (file names without .sh), all of them when none are given.
resolve_scenarios() {
  local all=() w f matches
  for f in "$E2E_DIR"/scenarios/[0-9]*.sh; do all+=("$(basename "$f" .sh)"); done
  if [ $# -eq 0 ]; then
    printf '%s\n' "${all[@]}"
    return
  fi
  for w in "$@"; do
    w=$(basename "$w" .sh)
    matches=()
    for f in "${all[@]}"; do
      if [ "$f" = "$w" ] || [[ "$f" == "$w"-* ]]; then matches+=("$f"); fi
    done
    [ "${#matches[@]}" -eq 1 ] || e2e_die "scenario '$w' matches ${#matches[@]} scenarios (have: ${all[*]})"
    echo "${matches[0]}"
  done
}

# header SCENARIO KEY: the value of a "# KEY: value" header line of the scenario file.
header() {
  sed -n "s/^# $2: *//p" "$E2E_DIR/scenarios/$1.sh" | head -n1
}

# Through a variable, not "< <(...)": an error in a process substitution would not stop this script.
names=$(resolve_scenarios "${wanted[@]}")
mapfile -t scenarios <<< "$names"
[ -n "$names" ] || e2e_die "no scenarios in $E2E_DIR/scenarios"
if [ "$list" = 1 ]; then
  printf '%s\n' "${scenarios[@]}"
  exit 0
fi

bin=$(cd "$bin" 2> /dev/null && pwd) || e2e_die "--bin $bin: no such directory (run 'make publish')"
t_start=$(e2e_now_us)
run_id=$(date +%Y%m%d-%H%M%S)-$$
run_dir=$E2E_DIR/results/$run_id
testbed_prepare "$bin" "$run_dir"
# The systemd boots take two to three times as long as any other scenario: start them first, so that the
# others fill the second VM slot meanwhile instead of leaving one long boot running alone at the end.
long=() short=()
for name in "${scenarios[@]}"; do
  case "$(header "$name" boot)" in systemd | fleet) long+=("$name") ;; *) short+=("$name") ;; esac
done
scenarios=("${long[@]}" "${short[@]}")
TB_SYSIMAGE=
for name in "${scenarios[@]}"; do
  if [[ "$(header "$name" boot)" =~ ^(systemd|fleet)$ ]]; then
    TB_SYSIMAGE=$(sysimage_prepare "$TB_KV")
    if [ -z "$deb" ]; then
      deb=$(find "$REPO_ROOT/artifacts/packages" -maxdepth 1 -name 'livepatchd_*.deb' -printf '%T@ %p\n' 2> /dev/null |
        sort -rn | head -n1 | cut -d' ' -f2-)
    fi
    [ -n "$deb" ] && deb=$(realpath "$deb")
    e2e_msg "systemd image $TB_SYSIMAGE, package ${deb:-<none: make deb>}"
    break
  fi
done
e2e_msg "kernel $TB_KV, ${TB_ACCEL[*]}, ${#scenarios[@]} scenario(s), up to $jobs VM(s) at once, prepared in $(e2e_elapsed "$t_start")"

# run_scenario NAME: boot one VM for NAME and write its verdict ("PASS" or "FAIL: reason") to NAME/verdict.
run_scenario() {
  local name=$1 dir=$run_dir/$1 tmo extra t0 rc verdict
  tmo=$(header "$name" timeout)
  tmo=${tmo:-$DEFAULT_TIMEOUT}
  extra=$(header "$name" cmdline)
  mkdir -p "$dir/results"
  t0=$(e2e_now_us)
  rc=0
  if [ "$(header "$name" boot)" = systemd ]; then
    sysboot_run "$name" "$dir" "$tmo" "$deb" "${TB_ACCEL[@]}" || rc=$?
  elif [ "$(header "$name" boot)" = fleet ]; then
    fleet_run "$name" "$dir" "$tmo" "$deb" "${TB_ACCEL[@]}" || rc=$?
  else
    qemu_boot "$TB_VMLINUZ" "$TB_INITRD" "$dir/results" "$tmo" "lptest=scenarios/$name.sh $extra" \
      "${TB_ACCEL[@]}" > "$dir/console.log" 2>&1 || rc=$?
  fi
  verdict=$(judge "$dir" "$rc" "$tmo")
  printf '%s\n%s\n' "$verdict" "$(e2e_elapsed "$t0")" > "$dir/verdict"
}

# last_guest_line LOG: the last non-empty console line written by the guest (not by QEMU itself).
last_guest_line() { grep -v -e '^[[:space:]]*$' -e '^qemu-system' "$1" | tail -n1; }

# judge DIR QEMU_RC TIMEOUT: "PASS", or "FAIL: <the most specific reason available>".
judge() {
  local dir=$1 rc=$2 tmo=$3 res=$1/results status reason
  status=$(sed -n 's/^status=//p' "$res/result" 2> /dev/null || true)
  if [ "$status" = 0 ] && [ "$rc" = 0 ]; then
    echo PASS
    return
  fi
  if [ -s "$res/failures" ]; then
    reason=$(head -n1 "$res/failures")
  elif grep -q 'Kernel panic' "$dir/console.log"; then
    reason="kernel panic: $(grep -m1 -o 'Kernel panic.*' "$dir/console.log")"
  elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    reason="timed out after ${tmo}s; last console line: $(last_guest_line "$dir/console.log")"
  elif [ -z "$status" ]; then
    reason="no result from the guest (qemu exit $rc); last console line: $(last_guest_line "$dir/console.log")"
  else
    reason="qemu exit $rc"
  fi
  echo "FAIL: $reason"
}

# Run the scenarios, at most $jobs at a time, reporting each as it finishes.
report() {
  local name=$1 verdict elapsed
  { read -r verdict; read -r elapsed; } < "$run_dir/$name/verdict"
  if [ "$verdict" = PASS ]; then
    printf 'PASS  %-32s %6s\n' "$name" "$elapsed"
  else
    printf 'FAIL  %-32s %6s  %s\n' "$name" "$elapsed" "${verdict#FAIL: }"
    printf '      console: %s\n' "${run_dir#"$REPO_ROOT"/}/$name/console.log"
  fi
}
declare -A pid_of=()
# On SIGINT/SIGTERM stop the VMs still running: each scenario job's child is timeout(1), which passes the
# signal on to QEMU. (A leftover QEMU would die at its timeout anyway.)
stop_scenarios() {
  local pid
  for pid in "${pid_of[@]}"; do
    pkill -TERM -P "$pid" 2> /dev/null || true
    kill -TERM "$pid" 2> /dev/null || true
  done
}
trap 'stop_scenarios; exit 130' INT TERM
reap() { # reap: report every finished scenario that has not been reported yet
  local name
  for name in "${!pid_of[@]}"; do
    if ! kill -0 "${pid_of[$name]}" 2> /dev/null; then
      wait "${pid_of[$name]}" || true
      unset "pid_of[$name]"
      report "$name"
    fi
  done
}
for name in "${scenarios[@]}"; do
  while [ "${#pid_of[@]}" -ge "$jobs" ]; do
    wait -n || true
    reap
  done
  run_scenario "$name" &
  pid_of[$name]=$!
done
while [ "${#pid_of[@]}" -gt 0 ]; do
  wait -n || true
  reap
done

passed=0
failed=0
for name in "${scenarios[@]}"; do
  if [ "$(head -n1 "$run_dir/$name/verdict")" = PASS ]; then
    passed=$((passed + 1))
    [ "$keep" = 1 ] || rm -rf "${run_dir:?}/$name"
  else
    failed=$((failed + 1))
  fi
done
rm -f "$TB_INITRD"
if [ "$failed" -gt 0 ] || [ "$keep" = 1 ]; then
  ln -sfn "$run_id" "$E2E_DIR/results/latest"
  e2e_msg "total $(e2e_elapsed "$t_start"); results in ${run_dir#"$REPO_ROOT"/} (also results/latest)"
else
  rmdir "$run_dir" 2> /dev/null || true
  e2e_msg "total $(e2e_elapsed "$t_start")"
fi
echo "e2e: $passed passed, $failed failed"
[ "$failed" = 0 ]
