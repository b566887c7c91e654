# shellcheck shell=sh
# The crash-loop guard: a marker left by an apply during an "earlier boot" (planted with another boot id) makes
# the daemon skip start-up apply and report previous-apply-interrupted in status (state degraded, a problem
# naming the patch). "lpctl apply" is refused with that reason; "lpctl apply --resume" applies and clears it.

start_daemon_trusted || exit 1
check_lpctl "install lpdemo_v1" 0 "$E2E_WORK/i1.json" install "$LP_DIR/lpdemo_v1.signed.ko" || exit 1
stop_daemon

boot_id=$(cat /proc/sys/kernel/random/boot_id)
earlier=00000000-0000-4000-8000-0000000e2e01
[ "$boot_id" != "$earlier" ] || abort "the planted boot id differs from this boot's"
cat > "$LPD_STATE_DIR/apply-in-progress.json" << MARKER
{"bootId": "$earlier", "patch": "lpdemo_v1", "sha256": "$(sha256sum "$LP_DIR/lpdemo_v1.signed.ko" | cut -d' ' -f1)",
 "kernelRelease": "$(uname -r)", "startedAt": "2026-11-27T23:59:00+00:00"}
MARKER

start_daemon_trusted || exit 1
S=$E2E_WORK/status.json
_interrupted() { lpctl_json "$S" status && [ "$(json .startupApply.state "$S")" = interrupted ]; }
wait_for 30 _interrupted || fail "status: start-up apply interrupted within 30 s" "$(json .startupApply "$S")"
save "$S"
check_json "status: reason, patch, boot id" '"\(.startupApply.errorReason) \(.startupApply.interruptedPatch) \(.startupApply.interruptedBootId)"' \
  "previous-apply-interrupted lpdemo_v1 $earlier" "$S"
check_json "status: degraded" .state degraded "$S"
check_json "status: a problem names it" '[.problems[].message | select(startswith("previous-apply-interrupted"))] | length' 1 "$S"
usleep 2000000
check "kernel: nothing applied" "" "$(ls "$LP_SYSFS")"

A=$E2E_WORK/apply.json
check_lpctl "lpctl apply without --resume exits 1" 1 "$A" apply
check_contains "with previous-apply-interrupted" "(previous-apply-interrupted)" "$(cat "$A.err")"
check "kernel: still nothing applied" "" "$(ls "$LP_SYSFS")"

R=$E2E_WORK/resume.json
check_lpctl "lpctl apply --resume exits 0" 0 "$R" apply --resume --timeout 45
save "$R"
check_json "resume: resumed, lpdemo_v1 applied" '"\(.resumed) \([.results[] | "\(.name)=\(.outcome)"] | join(" "))"' "true lpdemo_v1=applied" "$R"
check "kernel: lpdemo_v1 enabled" 1 "$(cat "$LP_SYSFS/lpdemo_v1/enabled" 2>&1)"
check "marker removed" absent "$([ -e "$LPD_STATE_DIR/apply-in-progress.json" ] && echo present || echo absent)"
lpctl_json "$S" status
check_json "status after resume: idle, done, no interrupted problem" '"\(.state) \(.startupApply.state) \([.problems[].message | select(startswith("previous-apply"))] | length)"' "idle done 0" "$S"
