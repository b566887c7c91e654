# shellcheck shell=sh
# Transitions:OnStall=Revert: a stalled load is reversed by the daemon at ResolveAfter and its module unloaded.
# A reader sleeps in lpdemo_sleeper_wait() and lpdemo_v3 (which replaces it) is loaded with --no-wait. With
# StallAfter=2 s and ResolveAfter=6 s, well before the kernel's own fake signal (~15 s), watch shows
# transition-stalled then transition-reverted; the patch leaves the kernel and the list, and its module is
# removed (/sys/module/lpdemo_v3 gone). The reader never switched: it still sleeps in the original function and,
# released, returns the original result. Then the same again with a *waiting* "lpctl load": the policy must not
# be held up by the load that is waiting for the transition; that load exits 1 (its transition was reversed).

V3=$LP_DIR/lpdemo_v3.signed.ko
start_daemon_trusted Transitions:StallAfter=00:00:02 Transitions:ResolveAfter=00:00:06 Transitions:OnStall=Revert || exit 1
park_in_sleeper || exit 1
reader=$PARKED_PID
W=$E2E_WORK/watch.jsonl
watch_start "$W" || exit 1

# ---- load --no-wait; the policy reverts it
t0=$(uptime_ms)
check_lpctl "lpctl load --no-wait lpdemo_v3.signed.ko exits 0" 0 "$E2E_WORK/load.json" load --no-wait "$V3" || exit 1
wait_event "$W" transition-stalled lpdemo_v3 12 || exit 1
wait_event "$W" transition-reverted lpdemo_v3 14 || exit 1
reverted_ms=$(($(uptime_ms) - t0))
log "transition-reverted seen $reverted_ms ms after the load started"
check "reverted after ResolveAfter (6 s), before the kernel's fake signal (15 s): $reverted_ms ms" yes \
  "$([ "$reverted_ms" -ge 5500 ] && [ "$reverted_ms" -lt 14000 ] && echo yes)"
wait_patch_gone lpdemo_v3 10
wait_for 10 test ! -e /sys/module/lpdemo_v3
check "kernel: $LP_SYSFS/lpdemo_v3 gone" absent "$(presence "$LP_SYSFS/lpdemo_v3")"
check "kernel: module lpdemo_v3 unloaded" absent "$(presence /sys/module/lpdemo_v3)"
# The kernel logs a reversal only at debug level; what it does log is a completed unpatching nobody asked for.
check_contains "dmesg: the kernel completed the reversed (unpatching) transition" "'lpdemo_v3': unpatching complete" "$(dmesg)"
check_parked "the reader still sleeps in the original function" "$reader" lpdemo_sleeper_wait
E=$E2E_WORK/reverted-event.json
event_json "$W" transition-reverted lpdemo_v3 > "$E"
check_contains "the reverted event says the patching transition was reverted" "reverted the patching transition of lpdemo_v3" "$(json .message "$E")"
wait_event "$W" patch-removed lpdemo_v3 10
check_event_order "watch: started, stalled, reverted, removed" "$W" lpdemo_v3 \
  transition-started transition-stalled transition-reverted patch-removed
check_no_events "no force, no kick, no recovery" "$W" lpdemo_v3 transition-forced tasks-kicked transition-recovered stall-unresolved
L=$E2E_WORK/list.json
check_lpctl "lpctl -o json list exits 0" 0 "$L" list
check_json "list: no patch, no leftover" '"\(.patches | length) \(.leftovers | length)"' "0 0" "$L"
S=$E2E_WORK/status.json
check_lpctl "lpctl -o json status exits 0" 0 "$S" status
check_json "status: idle, nothing forced" '"\(.state) \(.forcedModules | length) \(.blockingTasks)"' "idle 0 null" "$S"
check_contains "the log names the revert and the blocking reader" "cat (pid $reader)" "$(grep -i 'revert' "$LPD_LOG")"

# ---- a waiting load: the policy still reverts at ResolveAfter; the load reports the reversal
LW=$E2E_WORK/load-wait.json
t0=$(uptime_ms)
lpctl --socket "$LPD_SOCKET" -o json load "$V3" --timeout 40 > "$LW" 2> "$LW.err"
load_rc=$?
load_ms=$(($(uptime_ms) - t0))
log "waiting load returned rc $load_rc after $load_ms ms"
save "$LW" "$LW.err"
check "the waiting load exits 1 (its transition was reversed)" 1 "$load_rc"
check_contains "its stderr says so" "reversed" "$(cat "$LW.err")"
check_json "its document: result reversed, error transition-reversed" '"\(.result.kind) \(.error.reason)"' "reversed transition-reversed" "$LW"
check "it returned soon after ResolveAfter, not at the kernel's fake signal: $load_ms ms" yes \
  "$([ "$load_ms" -lt 13000 ] && echo yes)"
wait_event_count "$W" transition-reverted lpdemo_v3 2 10
wait_for 10 test ! -e /sys/module/lpdemo_v3
check "kernel: module lpdemo_v3 unloaded again" absent "$(presence /sys/module/lpdemo_v3)"
check_parked "the reader still sleeps in the original function" "$reader" lpdemo_sleeper_wait

H=$E2E_WORK/history.json
check_lpctl "lpctl -o json history exits 0" 0 "$H" history
check_json "history: the waiting load's outcome is reversed" \
  '[.operations[] | select(.operation == "load")][-1].outcome' reversed "$H"

release_sleeper
wait "$reader"
check "released, the reader returns the original result" "lpdemo_sleeper: original wait finished" "$(cat "$E2E_WORK/parked.out")"
check "the original function is still live" "lpdemo_sleeper: original wait finished" "$(cat /proc/lpdemo_sleep)"
watch_stop
save "$W"
