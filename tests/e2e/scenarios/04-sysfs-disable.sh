# shellcheck shell=sh
# Disabling a patch through sysfs (not through the daemon) shows in "lpctl watch" as disabling and then
# removal, and the patch leaves "lpctl list" once the kernel has freed it.

# A later daemon may list a disabled module that is still loaded as a leftover; "gone" here means: not listed
# as a patch the kernel still has.
active_v1() {
  lpctl -o json info lpdemo_v1 > "$E2E_WORK/info-v1.json" 2> /dev/null &&
    jq -e '.patch.state | IN("enabled", "enabling", "disabling", "disabled", "stalled")' "$E2E_WORK/info-v1.json"
}

original_cmdline=$(cat /proc/cmdline)
start_daemon || exit 1
insmod_lp lpdemo_v1.ko || exit 1
wait_transition lpdemo_v1
wait_lpctl_state lpdemo_v1 enabled 15
original_taint=$(cat /proc/sys/kernel/tainted)

W=$E2E_WORK/watch.jsonl
watch_start "$W"
echo 0 > "$LP_SYSFS/lpdemo_v1/enabled" || abort "cannot disable lpdemo_v1 through sysfs"
wait_patch_gone lpdemo_v1
wait_event "$W" patch-removed lpdemo_v1 15
watch_stop
save "$W"
log "events: $(events "$W")"

# The unpatch transition may finish before the daemon's next look, so either a patch-disabled event or a
# transition towards "disabling" counts as the disabling step; it must come before the removal.
check "watch shows disabling before removal" true "$(jq -s '
  [.[] | select(.patch == "lpdemo_v1")]
  | (map(.kind == "patch-disabled" or .toState == "disabling" or .toState == "disabled") | index(true)) as $d
  | (map(.kind == "patch-removed") | index(true)) as $r
  | $d != null and $r != null and $d < $r' "$W")"

L=$E2E_WORK/list.json
lpctl_json "$L" list || fail "lpctl -o json list exits 0" "rc $?"
save "$L"
check_json "no active lpdemo_v1 left in the list" \
  '[.patches[] | select(.name == "lpdemo_v1" and (.state | IN("enabled", "enabling", "disabling", "disabled", "stalled")))] | length' \
  0 "$L"
check "lpctl info no longer reports lpdemo_v1 as a patch" gone "$(active_v1 > /dev/null && echo present || echo gone)"
check "/proc/cmdline is the original again" "$original_cmdline" "$(cat /proc/cmdline)"

check_rc "rmmod the disabled module" 0 rmmod lpdemo_v1
wait_for 10 sh -c '! lpctl -o json list | jq -e ".patches[] | select(.name == \"lpdemo_v1\")"' ||
  fail "lpdemo_v1 gone from lpctl list after rmmod" "$(lpctl -o json list | head -c 300)"
S=$E2E_WORK/status.json
lpctl_json "$S" status || fail "lpctl -o json status exits 0" "rc $?"
check_json "status: no patches, idle" '"\(.patchCount) \(.state)"' "0 idle" "$S"
check_json "taint stays (sticky)" .kernel.taintMask "$original_taint" "$S"
