# shellcheck shell=sh
# The kill switch on the kernel command line: with livepatchd.apply=0 the daemon applies no installed patch at
# start, and status says why. An explicit "lpctl apply" by an administrator still works.
# cmdline: livepatchd.apply=0

start_daemon_trusted || exit 1
check_lpctl "install lpdemo_v1" 0 "$E2E_WORK/i1.json" install "$LP_DIR/lpdemo_v1.signed.ko" || exit 1
stop_daemon
start_daemon_trusted || exit 1

S=$E2E_WORK/status.json
_apply_off() { lpctl_json "$S" status && [ "$(json .startupApply.state "$S")" = disabled ]; }
wait_for 30 _apply_off || fail "status: start-up apply disabled within 30 s" "$(json .startupApply "$S")"
save "$S"
check_json "status: the reason is the command line" .startupApply.reason "livepatchd.apply=0 is on the kernel command line" "$S"
check_contains "the kernel command line has the switch" "livepatchd.apply=0" "$(cat /proc/cmdline)"
lpctl status > "$E2E_WORK/status.txt" 2>&1
check "lpctl status (table) says why" "disabled: livepatchd.apply=0 is on the kernel command line" \
  "$(sed -n 's/^Start-up apply: *//p' "$E2E_WORK/status.txt")"
usleep 2000000
check "kernel: nothing applied" "" "$(ls "$LP_SYSFS")"
check_contains "log: start-up apply is off" "start-up apply is off: livepatchd.apply=0" "$(cat "$LPD_LOG")"

A=$E2E_WORK/apply.json
check_lpctl "an explicit lpctl apply still applies" 0 "$A" apply --timeout 45
check_json "apply: lpdemo_v1 applied" '[.results[] | "\(.name)=\(.outcome)"] | join(" ")' "lpdemo_v1=applied" "$A"
check "kernel: lpdemo_v1 enabled" 1 "$(cat "$LP_SYSFS/lpdemo_v1/enabled" 2>&1)"
