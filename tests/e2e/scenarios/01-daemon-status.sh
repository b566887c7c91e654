# shellcheck shell=sh
# livepatchd starts in the guest and "lpctl status" reports the real kernel: release, boot id, build id, taint,
# lockdown and signature policy, livepatch support, and an idle state with no patches. Without a daemon, lpctl
# says so with exit code 3.

check_rc "lpctl status without a daemon exits 3 (unreachable)" 3 lpctl status
check_contains "its error goes to stderr as 'lpctl: ...'" "lpctl: " "$(cat "$E2E_WORK/last.out")"

start_daemon || exit 1

check_rc "lpctl status (table) exits 0" 0 lpctl status
check_contains "table output names the kernel release" "$(uname -r)" "$(cat "$E2E_WORK/last.out")"

S=$E2E_WORK/status.json
lpctl_json "$S" status || fail "lpctl -o json status exits 0" "rc $?: $(cat "$S.err")"
save "$S"
check_json "schema version" .schemaVersion 1 "$S"
check_json "daemon version is set" '.daemonVersion | length > 0' true "$S"
check_json "kernel release is uname -r" .kernel.release "$(uname -r)" "$S"
check_json "kernel version is uname -v" .kernel.version "$(uname -v)" "$S"
check_json "boot id" .kernel.bootId "$(cat /proc/sys/kernel/random/boot_id)" "$S"
check_json "vmlinux build id" .kernel.buildId "$(kernel_build_id)" "$S"
check_json "taint mask" .kernel.taintMask "$(cat /proc/sys/kernel/tainted)" "$S"
check_json "livepatch supported" .kernel.livepatchSupported true "$S"
check_json "lockdown" .kernel.lockdown none "$S"
check_json "signature enforcement" .kernel.sigEnforce false "$S"
check_json "module loading not disabled" .kernel.modulesDisabled false "$S"
check_json "ftrace enabled" .kernel.ftraceEnabled true "$S"
check_json "state" .state idle "$S"
check_json "no patches" '[.patchCount, .enabledPatchCount] | map(tostring) | join(",")' 0,0 "$S"
check_json "no transition" .transition null "$S"
check_json "no problems" '.problems | length' 0 "$S"
lpctl --socket "$LPD_SOCKET" check > "$E2E_WORK/check.txt" 2>&1
check "lpctl check exits 0 (idle and healthy)" 0 "$?"
check "lpctl check prints one OK line" "LIVEPATCH OK - idle, 0 of 0 patch(es) enabled on $(uname -r)" "$(cat "$E2E_WORK/check.txt")"
