# shellcheck shell=sh
# Transitions:OnStall=Force: a stalled load is forced by the daemon at ResolveAfter. A reader sleeps in
# lpdemo_sleeper_wait() and lpdemo_v3 (replace=false) is loaded with --no-wait; with StallAfter=2 s and
# ResolveAfter=6 s, before the kernel's fake signal (~15 s), watch shows transition-stalled then
# transition-forced and the kernel completes the patching (it logs the force). What force costs is visible: the
# reader still sleeps in the *original* function and, released, returns the original result. A forced
# *patching* transition of a non-replace patch pins no module (Linux 5.18+ marks only a forced unpatch's patch
# or a forced replace's replaced patches): the daemon reports nothing pinned, list shows lpdemo_v3 enabled and not
# forced, status has no forced modules, and lpdemo_v3 can still be unloaded, its module really removed.

V3=$LP_DIR/lpdemo_v3.signed.ko
start_daemon_trusted Transitions:StallAfter=00:00:02 Transitions:ResolveAfter=00:00:06 Transitions:OnStall=Force || exit 1
park_in_sleeper || exit 1
reader=$PARKED_PID
W=$E2E_WORK/watch.jsonl
watch_start "$W" || exit 1

t0=$(uptime_ms)
check_lpctl "lpctl load --no-wait lpdemo_v3.signed.ko exits 0" 0 "$E2E_WORK/load.json" load --no-wait "$V3" || exit 1
wait_event "$W" transition-stalled lpdemo_v3 12 || exit 1
wait_event "$W" transition-forced lpdemo_v3 14 || exit 1
forced_ms=$(($(uptime_ms) - t0))
log "transition-forced seen $forced_ms ms after the load started"
check "forced after ResolveAfter (6 s), before the kernel's fake signal (15 s): $forced_ms ms" yes \
  "$([ "$forced_ms" -ge 5500 ] && [ "$forced_ms" -lt 14000 ] && echo yes)"
wait_transition lpdemo_v3 5
check "kernel: lpdemo_v3 enabled, transition over" "1 0" \
  "$(cat "$LP_SYSFS/lpdemo_v3/enabled" 2>&1) $(cat "$LP_SYSFS/lpdemo_v3/transition" 2>&1)"
check_contains "dmesg: the kernel forced the remaining tasks" "forcing remaining tasks to the patched state" "$(dmesg)"
check_contains "dmesg: patching complete" "'lpdemo_v3': patching complete" "$(dmesg)"
check_parked "the reader still sleeps in the ORIGINAL function (force does not move it)" "$reader" lpdemo_sleeper_wait
E=$E2E_WORK/forced-event.json
event_json "$W" transition-forced lpdemo_v3 > "$E"
check_contains "the forced event says no module is pinned" "no module is pinned" "$(json .message "$E")"
check_event_order "watch: started, stalled, forced" "$W" lpdemo_v3 transition-started transition-stalled transition-forced
check_no_events "no revert, no kick, no recovery" "$W" lpdemo_v3 transition-reverted tasks-kicked transition-recovered stall-unresolved

L=$E2E_WORK/list.json
check_lpctl "lpctl -o json list exits 0" 0 "$L" list
check_json "list: lpdemo_v3 enabled, not forced; no leftover" \
  '"\([.patches[] | "\(.name)=\(.state)/\(.forced)"] | join(" ")) \(.leftovers | length)"' "lpdemo_v3=enabled/false 0" "$L"
S=$E2E_WORK/status.json
check_lpctl "lpctl -o json status exits 0" 0 "$S" status
check_json "status: idle, no forced modules" '"\(.state) \(.forcedModules | length)"' "idle 0" "$S"
check "new reads use the patched function" "lpdemo_v3: patched wait returns at once" "$(cat /proc/lpdemo_sleep)"
check_contains "the log names the force and the blocking reader" "cat (pid $reader)" "$(grep -i 'force' "$LPD_LOG")"

# Nothing is pinned, so lpdemo_v3 unloads (its own function is on nobody's stack) and its module goes away.
check_lpctl "lpctl unload lpdemo_v3 exits 0" 0 "$E2E_WORK/unload.json" unload lpdemo_v3 --timeout 30
check "kernel: module lpdemo_v3 unloaded" absent "$(presence /sys/module/lpdemo_v3)"

# ---- a waiting load: the policy forces it at ResolveAfter; lpctl exits 5 (completed by force) and says so
LW=$E2E_WORK/load-wait.json
lpctl --socket "$LPD_SOCKET" -o json load "$V3" --timeout 40 > "$LW" 2> "$LW.err"
load_rc=$?
save "$LW" "$LW.err"
check "the waiting load exits 5 (completed by force)" 5 "$load_rc"
check_json "its document: result forced, patch enabled" '"\(.result.kind) \(.patch.state)"' "forced enabled" "$LW"
check_contains "the result names the reader that may still run the old code" "$reader" "$(json '.result.oldCodeTasks | join(" ")' "$LW")"
check_lpctl "lpctl unload lpdemo_v3 exits 0 again" 0 "$E2E_WORK/unload2.json" unload lpdemo_v3 --timeout 30

release_sleeper
wait "$reader"
check "released, the reader returns the original result" "lpdemo_sleeper: original wait finished" "$(cat "$E2E_WORK/parked.out")"
watch_stop
save "$W" "$L" "$S"
