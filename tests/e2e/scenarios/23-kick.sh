# shellcheck shell=sh
# Kicking blocked tasks (SIGSTOP+SIGCONT) resolves a stall long before the kernel's own fake signal (~15 s).
# First by hand: a reader sleeps in lpdemo_sleeper_wait(), lpdemo_v3 is loaded with --no-wait and stalls
# (StallAfter=2 s, OnStall=None); "lpctl kick lpdemo_v3" kicks exactly the reader, the transition completes within
# a couple of seconds, and the reader, whose read restarts after the stop, gets the PATCHED result. Then by the
# policy: lpdemo_v3 is unloaded, the daemon restarted with Transitions:KickBlockedTasks=true and KickAfter=3 s,
# and the same stall resolves itself with a tasks-kicked event.

V3=$LP_DIR/lpdemo_v3.signed.ko
PATCHED="lpdemo_v3: patched wait returns at once"
start_daemon_trusted Transitions:StallAfter=00:00:02 Transitions:ResolveAfter=00:05:00 Transitions:OnStall=None || exit 1

# ---- manual kick
park_in_sleeper || exit 1
reader=$PARKED_PID
W=$E2E_WORK/watch.jsonl
watch_start "$W" || exit 1
t0=$(uptime_ms)
check_lpctl "lpctl load --no-wait lpdemo_v3.signed.ko exits 0" 0 "$E2E_WORK/load.json" load --no-wait "$V3" || exit 1
wait_event "$W" transition-stalled lpdemo_v3 12 || exit 1
check "kernel: lpdemo_v3 still in transition before the kick" 1 "$(cat "$LP_SYSFS/lpdemo_v3/transition")"
K=$E2E_WORK/kick.json
t1=$(uptime_ms)
check_lpctl "lpctl -o json kick lpdemo_v3 exits 0" 0 "$K" kick lpdemo_v3
save "$K"
check_json "kick: SIGSTOP+SIGCONT of exactly the reader" '"\(.method) \(.kickedPids | join(",")) \(.kernelThreadsSkipped)"' \
  "sigstop-sigcont $reader 0" "$K"
wait_transition lpdemo_v3 10
done_ms=$(($(uptime_ms) - t0))
kick_ms=$(($(uptime_ms) - t1))
log "transition over $kick_ms ms after the kick, $done_ms ms after the load"
check "the kick resolved it within 5 s ($kick_ms ms), before the kernel's fake signal ($done_ms ms after the load)" yes \
  "$([ "$kick_ms" -lt 5000 ] && [ "$done_ms" -lt 14000 ] && echo yes)"
check "kernel: lpdemo_v3 enabled" 1 "$(cat "$LP_SYSFS/lpdemo_v3/enabled")"
wait_for 10 _pid_gone "$reader" || fail "the kicked reader finishes its read" "still running"
check "the kicked reader restarted its read in the PATCHED function" "$PATCHED" "$(cat "$E2E_WORK/parked.out")"
check "dmesg: the kernel did not need its fake signal" "" "$(dmesg | grep 'signaling remaining tasks')"
wait_event "$W" tasks-kicked lpdemo_v3 5
E=$E2E_WORK/kicked-event.json
event_json "$W" tasks-kicked lpdemo_v3 > "$E"
check_contains "the tasks-kicked event counts one process" "kicked 1 process" "$(json .message "$E")"
wait_event "$W" transition-completed lpdemo_v3 10
check_event_order "watch: stalled, kicked, completed" "$W" lpdemo_v3 transition-stalled tasks-kicked transition-completed
check_no_events "no revert, no force" "$W" lpdemo_v3 transition-reverted transition-forced
watch_stop
save "$W"

# ---- a kick of a patch that is not in transition
K2=$E2E_WORK/kick-idle.json
check_lpctl "lpctl kick lpdemo_v3 with no transition exits 1" 1 "$K2" kick lpdemo_v3
check_contains "with no-transition" "(no-transition)" "$(cat "$K2.err")"

# ---- the policy kicks: KickBlockedTasks=true, KickAfter=3 s
check_lpctl "lpctl unload lpdemo_v3 exits 0" 0 "$E2E_WORK/unload.json" unload lpdemo_v3 --timeout 30 || exit 1
stop_daemon
start_daemon_trusted Transitions:StallAfter=00:00:02 Transitions:KickBlockedTasks=true Transitions:KickAfter=00:00:03 \
  Transitions:ResolveAfter=00:05:00 Transitions:OnStall=None || exit 1
park_in_sleeper || exit 1
reader=$PARKED_PID
W=$E2E_WORK/watch-policy.jsonl
watch_start "$W" || exit 1
t0=$(uptime_ms)
check_lpctl "lpctl load --no-wait lpdemo_v3.signed.ko exits 0 (again)" 0 "$E2E_WORK/load2.json" load --no-wait "$V3" || exit 1
wait_event "$W" tasks-kicked lpdemo_v3 12 || exit 1
wait_transition lpdemo_v3 10
done_ms=$(($(uptime_ms) - t0))
log "policy: transition over $done_ms ms after the load"
check "the policy's kick resolved it after KickAfter (3 s), before the kernel's fake signal: $done_ms ms" yes \
  "$([ "$done_ms" -ge 2500 ] && [ "$done_ms" -lt 14000 ] && echo yes)"
wait_for 10 _pid_gone "$reader" || fail "the kicked reader finishes its read" "still running"
check "the kicked reader got the PATCHED result" "$PATCHED" "$(cat "$E2E_WORK/parked.out")"
check "dmesg: the kernel did not need its fake signal" "" "$(dmesg | grep 'signaling remaining tasks')"
wait_event "$W" transition-completed lpdemo_v3 10
check_event_order "watch: stalled, kicked, completed" "$W" lpdemo_v3 transition-stalled tasks-kicked transition-completed
check_no_events "no revert, no force" "$W" lpdemo_v3 transition-reverted transition-forced
check_contains "the log names the kick" "kick" "$(grep 'lpdemo_v3' "$LPD_LOG" | grep -i 'kick')"
watch_stop
save "$W"
