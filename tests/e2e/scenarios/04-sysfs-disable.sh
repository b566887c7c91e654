# shellcheck shell=sh
# Disabling a patch through sysfs (behind the daemon's back) shows in "lpctl watch" as disabling and then
# removal, and the patch leaves "lpctl list" once the kernel has freed it. A reader parked in the patched
# function holds the unpatch transition open until released, so the daemon has a disabling state to see.

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
hold_patch lpdemo_v1 || exit 1
echo 0 > "$LP_SYSFS/lpdemo_v1/enabled" || abort "cannot disable lpdemo_v1 through sysfs"
wait_lpctl_state lpdemo_v1 disabling 10
I=$E2E_WORK/info-during.json
lpctl_json "$I" info lpdemo_v1 || fail "lpctl -o json info lpdemo_v1 exits 0" "rc $?"
save "$I"
check_json "info while held: disabling, enabled=false, in transition" \
  '"\(.patch.state) \(.patch.enabled) \(.patch.transition)"' "disabling false true" "$I"
check "kernel agrees: enabled=0 transition=1" "0 1" \
  "$(cat "$LP_SYSFS/lpdemo_v1/enabled") $(cat "$LP_SYSFS/lpdemo_v1/transition")"
release_held

wait_patch_gone lpdemo_v1
wait_event "$W" patch-removed lpdemo_v1 15
watch_stop
save "$W"
log "events: $(events "$W")"
check_event_order "watch shows disabling, then removal" "$W" lpdemo_v1 patch-disabled patch-removed
check_event_order "watch shows the unpatch transition before removal" "$W" lpdemo_v1 \
  transition-started transition-completed patch-removed
check "the unpatch transition went towards disabling" disabling \
  "$(jq -rs '[.[] | select(.kind == "transition-started" and .patch == "lpdemo_v1")][0].toState' "$W")"

L=$E2E_WORK/list.json
lpctl_json "$L" list || fail "lpctl -o json list exits 0" "rc $?"
save "$L"
check_json "no active lpdemo_v1 left in the list" \
  '[.patches[] | select(.name == "lpdemo_v1" and (.state | IN("enabled", "enabling", "disabling", "disabled", "stalled")))] | length' \
  0 "$L"
check "lpctl info no longer reports lpdemo_v1 as a patch" gone "$(active_v1 > /dev/null && echo present || echo gone)"
check "/proc/cmdline is the original again" "$original_cmdline" "$(cat /proc/cmdline)"

check_rc "rmmod the disabled module" 0 rmmod lpdemo_v1
wait_for 10 sh -c '! lpctl -o json list | jq -e "any(.patches[]; .name == \"lpdemo_v1\")"' ||
  fail "lpdemo_v1 gone from lpctl list after rmmod" "$(lpctl -o json list | head -c 300)"
S=$E2E_WORK/status.json
lpctl_json "$S" status || fail "lpctl -o json status exits 0" "rc $?"
check_json "status: no patches, idle" '"\(.patchCount) \(.state)"' "0 idle" "$S"
check_json "taint stays (sticky)" .kernel.taintMask "$original_taint" "$S"
