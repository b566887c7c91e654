# shellcheck shell=sh
# timeout: 360
# Operations on the real kernel, held by a kernel thread. lpdemo_sleeper's "kthread" command starts lpdemo_kthread,
# which sleeps in lpdemo_sleeper_wait(); the kernel's fake signal cannot move a kernel thread, so lpdemo_v3's
# transition stays open until the test releases it.
# 1. OnStall=None, a --no-wait load stalls; the operator's "lpctl revert" ends it. watch shows transition-reverted
#    and never transition-recovered: an operator's act is reported as what it was, not as the transition ending
#    on its own.
# 2. Limits:OperationTimeout=00:05:00 and a waiting "lpctl load" (no --timeout): lpctl computes no deadline of its
#    own. While the kernel thread holds the transition, "lpctl operations" shows the load patching with the
#    daemon's 300 s deadline, a task count and the blocking thread, and "lpctl cancel" is refused
#    (operation-not-cancellable) naming "lpctl revert"; a second follower, "lpctl wait ID", detaches on SIGTERM
#    (exit 130, saying how to follow again) and the load goes on. The same lpctl still follows the load after 80 s (the old
#    client gave up at 75 s); released, the thread leaves and lpctl exits 0 with result completed.

V3=$LP_DIR/lpdemo_v3.signed.ko
start_daemon_trusted Transitions:StallAfter=00:00:02 Transitions:ResolveAfter=00:10:00 Transitions:OnStall=None \
  Limits:OperationTimeout=00:05:00 || exit 1
park_kthread || exit 1
KT=$KTHREAD_PID
W=$E2E_WORK/watch.jsonl
watch_start "$W" || exit 1

# ---- 1. an operator's revert of a stall no signal can end is not a recovery
check_lpctl "lpctl load --no-wait lpdemo_v3.signed.ko exits 0" 0 "$E2E_WORK/load.json" load --no-wait "$V3" || exit 1
wait_event "$W" transition-stalled lpdemo_v3 20 || exit 1
R=$E2E_WORK/revert.json
check_lpctl "lpctl revert lpdemo_v3 exits 0" 0 "$R" revert lpdemo_v3 --timeout 60
save "$R"
check_json "revert: completed, module removed" '"\(.result.kind) \(.moduleRemoved)"' "completed true" "$R"
wait_event "$W" transition-reverted lpdemo_v3 10
wait_event "$W" patch-removed lpdemo_v3 10
check_no_events "watch: no transition-recovered after the operator's revert" "$W" lpdemo_v3 transition-recovered transition-forced
check_parked "the kernel thread still sleeps in the original function" "$KT" lpdemo_sleeper_wait

# ---- 2. a load followed past the old 75 s client deadline
LW=$E2E_WORK/load-wait.json
t0=$(uptime_ms)
lpctl --socket "$LPD_SOCKET" -o json load "$V3" > "$LW" 2> "$LW.err" &
load_pid=$!
O=$E2E_WORK/operations.json
_load_counted() {
  lpctl_json "$O" operations --running &&
    [ "$(jq '[.operations[] | select(.kind == "load" and .phase == "patching" and (.progress.tasksTotal // 0) > 0 and (.blocking // "") != "")] | length' "$O")" = 1 ]
}
wait_for 60 _load_counted || fail "operations: the load is patching, with a task count and a blocker" "$(cat "$O")"
save "$O"
ID=$(jq '.operations[] | select(.kind == "load") | .id' "$O")
check_json "operations: the load has the daemon's deadline (300 s)" '.operations[] | select(.kind == "load") | .timeoutSeconds' 300 "$O"
check_json "operations: tasks pending, fewer than all" \
  '.operations[] | select(.kind == "load") | .progress.tasksPending >= 1 and .progress.tasksPending < .progress.tasksTotal' true "$O"
check_contains "operations: the blocker is the kernel thread" "lpdemo_kthread" "$(json '.operations[] | select(.kind == "load") | .blocking' "$O")"
S=$E2E_WORK/status.json
lpctl_json "$S" status
check_json "status: the transition's progress" '.transition.progress.tasksPending >= 1' true "$S"
C=$E2E_WORK/cancel.json
check_lpctl "lpctl cancel $ID exits 1 while the kernel patches" 1 "$C" cancel "$ID"
check_json "cancel: operation-not-cancellable" .error.reason operation-not-cancellable "$C"
check_contains "cancel: it says what to do instead" "lpctl revert lpdemo_v3" "$(cat "$C.err")"

# A second follower, lpctl wait, detaches on SIGTERM as on Ctrl-C: exit 130, how to follow again; the load goes on.
D=$E2E_WORK/wait-detach
lpctl_follow_start "$D" wait "$ID"
kill -TERM "$FOLLOW_PID"
wait "$FOLLOW_PID"
check "lpctl wait $ID exits 130 when told to stop" 130 "$?"
check_contains "it says it detached and the load goes on" "detached from operation $ID (load lpdemo_v3, patching): it goes on in livepatchd" "$(cat "$D.err")"
check_contains "it says how to follow again" "lpctl wait $ID" "$(cat "$D.err")"
check "the load is still running" running "$(_pid_gone "$load_pid" && echo finished || echo running)"

_past_80s() { [ $(($(uptime_ms) - t0)) -ge 80000 ]; }
wait_for 120 _past_80s
check "after 80 s the waiting lpctl load still follows the load" running "$(_pid_gone "$load_pid" && echo finished || echo running)"
check "kernel: lpdemo_v3 still in transition" 1 "$(cat "$LP_SYSFS/lpdemo_v3/transition" 2>&1)"
release_sleeper
wait "$load_pid"
load_rc=$?
load_ms=$(($(uptime_ms) - t0))
save "$LW" "$LW.err"
check "released, lpctl load exits 0 ($(head -c 200 "$LW.err"))" 0 "$load_rc"
check_json "its document: the same operation, completed" '"\(.operation.id) \(.result.kind) \(.patch.state)"' "$ID completed enabled" "$LW"
check "it followed the load for more than 75 s ($load_ms ms)" yes "$([ "$load_ms" -gt 75000 ] && echo yes)"
check_json "the operation's own elapsed time is over 75 s" '.operation.elapsedSeconds > 75' true "$LW"
watch_stop
save "$W"
