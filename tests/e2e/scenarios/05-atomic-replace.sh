# shellcheck shell=sh
# Atomic replace: with lpdemo_v1 live, insmod the cumulative lpdemo_v2 (replace=true). While a reader parked in
# v1's function holds the transition, both patches are listed; once released and complete, the kernel frees v1:
# watch shows v1 removed, the list shows only v2 enabled, /proc/cmdline shows v2's banner.

start_daemon || exit 1
insmod_lp lpdemo_v1.ko || exit 1
wait_transition lpdemo_v1
wait_lpctl_state lpdemo_v1 enabled 15

W=$E2E_WORK/watch.jsonl
watch_start "$W"
hold_patch lpdemo_v1 || exit 1
insmod_lp lpdemo_v2.ko || exit 1
wait_lpctl_state lpdemo_v2 enabling 10
L=$E2E_WORK/list-during.json
lpctl_json "$L" list || fail "lpctl -o json list exits 0" "rc $?"
save "$L"
check_json "while held: v1 enabled, v2 enabling" '[.patches[] | "\(.name)=\(.state)"] | sort | join(" ")' \
  "lpdemo_v1=enabled lpdemo_v2=enabling" "$L"
release_held

wait_transition lpdemo_v2
wait_patch_gone lpdemo_v1
wait_event "$W" transition-completed lpdemo_v2 15
wait_event "$W" patch-removed lpdemo_v1 15
watch_stop
save "$W"
log "events: $(events "$W")"
check_event_order "watch shows v2's transition" "$W" lpdemo_v2 transition-started transition-completed
check "watch shows lpdemo_v1 removed" 1 \
  "$(jq -s '[.[] | select(.kind == "patch-removed" and .patch == "lpdemo_v1")] | length' "$W")"

L=$E2E_WORK/list.json
lpctl_json "$L" list || fail "lpctl -o json list exits 0" "rc $?"
save "$L"
check_json "only lpdemo_v2 is enabled" '[.patches[] | select(.enabled) | .name] | join(" ")' lpdemo_v2 "$L"
check_json "lpdemo_v2 state" '.patches[] | select(.name == "lpdemo_v2") | .state' enabled "$L"
check_json "lpdemo_v2 patches vmlinux" \
  '.patches[] | select(.name == "lpdemo_v2") | .objects[] | select(.name == "vmlinux") | .patched' true "$L"
check_json "no active lpdemo_v1 left" \
  '[.patches[] | select(.name == "lpdemo_v1" and (.state | IN("enabled", "enabling", "disabling", "disabled", "stalled")))] | length' \
  0 "$L"
check "/proc/cmdline shows the v2 banner" "lpdemo_v2: /proc/cmdline replaced atomically" "$(cat /proc/cmdline)"

S=$E2E_WORK/status.json
lpctl_json "$S" status || fail "lpctl -o json status exits 0" "rc $?"
check_json "status: one enabled patch, idle" '"\(.patchCount) \(.enabledPatchCount) \(.state)"' "1 1 idle" "$S"
# The kernel dropped its reference to the replaced module, so it can go.
check_rc "rmmod the replaced lpdemo_v1" 0 rmmod lpdemo_v1
