#!/usr/bin/env bash
# demo.sh: boot the e2e guest once and show, in readable form, lpctl status and list before and after a live
# patch is applied, then /proc/cmdline patched. The quickest way to see the product work on a real kernel.
#
#   bash tests/e2e/demo.sh [--bin DIR]      (default: artifacts/bin, as made by "make publish")
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/testbed.sh
source "$(dirname "$0")/lib/testbed.sh"

bin=$REPO_ROOT/artifacts/bin
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=${2:?--bin needs a directory}; shift 2 ;;
    --bin=*) bin=${1#--bin=}; shift ;;
    -h | --help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) e2e_die "unknown argument '$1' (see --help)" ;;
  esac
done
bin=$(cd "$bin" 2> /dev/null && pwd) || e2e_die "--bin $bin: no such directory (run 'make publish')"

run_dir=$E2E_DIR/results/demo-$(date +%Y%m%d-%H%M%S)-$$
testbed_prepare "$bin" "$run_dir"
e2e_msg "booting $TB_KV (${TB_ACCEL[*]}); the guest's console follows"

# Show the guest's own output; kernel messages and init chatter stay in the console log.
rc=0
qemu_boot "$TB_VMLINUZ" "$TB_INITRD" "$run_dir/results" 120 "lptest=guest/demo.sh" "${TB_ACCEL[@]}" |
  tee "$run_dir/console.log" |
  grep --line-buffered -vE '^\[ *[0-9]+\.[0-9]+\]|^### |^CHECK PASS' || rc=$?
rm -f "$TB_INITRD"

if [ "$(sed -n 's/^status=//p' "$run_dir/results/result" 2> /dev/null)" = 0 ]; then
  rm -rf "$run_dir"
  echo
  echo "demo: done"
else
  echo
  echo "demo: something went wrong (qemu $rc); console log and guest files: ${run_dir#"$REPO_ROOT"/}" >&2
  exit 1
fi
