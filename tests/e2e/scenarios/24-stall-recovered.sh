# shellcheck shell=sh
# A stall that the kernel's own fake signal resolves before ResolveAfter is reported as recovered, not as a
# failure. A reader sleeps in lpdemo_sleeper_wait() and lpdemo_v3 is loaded with --no-wait; with StallAfter=1 s
# and ResolveAfter=60 s (OnStall=Revert, the default, which must not fire) the transition stalls, then about 15 s
# in the kernel signals the remaining tasks: the reader's read restarts in the patched function and the
# transition completes. Watch shows transition-stalled then transition-recovered and no resolution step; status
# is idle again with no blocking count, and lpdemo_v3 is enabled. While it is stalled, the answers
# 20-stall-diagnosed has no time for: "lpctl blocking" as a table, "blocking NAME" of the patch in transition,
# and of another patch (no-transition).

V3=$LP_DIR/lpdemo_v3.signed.ko
start_daemon_trusted Transitions:StallAfter=00:00:01 Transitions:ResolveAfter=00:01:00 Transitions:OnStall=Revert || exit 1
park_in_sleeper || exit 1
reader=$PARKED_PID
W=$E2E_WORK/watch.jsonl
watch_start "$W" || exit 1

t0=$(uptime_ms)
check_lpctl "lpctl load --no-wait lpdemo_v3.signed.ko exits 0" 0 "$E2E_WORK/load.json" load --no-wait "$V3" || exit 1
wait_event "$W" transition-stalled lpdemo_v3 12 || exit 1
# While it waits, the questions 20-stall-diagnosed has no time for: captured first, checked below.
S=$E2E_WORK/status-stalled.json
lpctl_json "$S" status
s_rc=$?
BT=$E2E_WORK/blocking.txt
lpctl --socket "$LPD_SOCKET" blocking > "$BT" 2>&1
bt_rc=$?
BN=$E2E_WORK/blocking-named.json
lpctl_json "$BN" blocking lpdemo_v3
bn_rc=$?
BO=$E2E_WORK/blocking-other.json
lpctl_json "$BO" blocking lpdemo_v1
bo_rc=$?
check_in_transition lpdemo_v3 "the captures ($(($(uptime_ms) - t0)) ms after the load)"
check "lpctl -o json status exit status" 0 "$s_rc"
check_json "status while stalled: stalled, 1 blocking task" '"\(.state) \(.blockingTasks)"' "stalled 1" "$S"
check "lpctl blocking (table) exit status" 0 "$bt_rc"
check_contains "lpctl blocking (table): the patch and direction" "lpdemo_v3 patching for" "$(head -n1 "$BT")"
check_contains "lpctl blocking (table): the count" ": 1 blocking thread" "$(head -n1 "$BT")"
check "lpctl blocking (table): the reader's row (PID TID COMM UNIT HELD-BY)" "cat - lpdemo_sleeper_wait (lpdemo_sleeper)" \
  "$(awk -v p="$reader" '$1 == p && $2 == p { $1 = ""; $2 = ""; sub(/^ +/, ""); print }' "$BT")"
check_contains "lpctl blocking (table): the explanation" "sleeping in lpdemo_sleeper_wait() (lpdemo_sleeper), which the patch replaces" "$(cat "$BT")"
check_contains "lpctl blocking (table): the command line" "cmdline: cat /proc/lpdemo_sleep" "$(cat "$BT")"
check_contains "lpctl blocking (table): the stack frame" "lpdemo_sleeper_wait+0x" "$(cat "$BT")"
check "lpctl blocking lpdemo_v3 (the patch in transition) exit status" 0 "$bn_rc"
check_json "blocking lpdemo_v3: the reader" '[.tasks[].pid] | join(" ")' "$reader" "$BN"
check "lpctl blocking lpdemo_v1 (not in transition) exit status" 1 "$bo_rc"
check_contains "with no-transition" "(no-transition)" "$(cat "$BO.err")"

# Nobody intervenes: the kernel's fake signal ends it.
wait_transition lpdemo_v3 40
done_ms=$(($(uptime_ms) - t0))
log "transition over $done_ms ms after the load"
check "the transition ended by itself around the kernel's 15 s signal ($done_ms ms after the load)" yes \
  "$([ "$done_ms" -ge 12000 ] && [ "$done_ms" -lt 30000 ] && echo yes)"
check_contains "dmesg: the kernel signalled the remaining tasks" "signaling remaining tasks" "$(dmesg)"
check "kernel: lpdemo_v3 enabled" 1 "$(cat "$LP_SYSFS/lpdemo_v3/enabled")"
wait_for 10 _pid_gone "$reader" || fail "the signalled reader finishes its read" "still running"
check "the reader's restarted read got the patched result" "lpdemo_v3: patched wait returns at once" "$(cat "$E2E_WORK/parked.out")"
wait_event "$W" transition-recovered lpdemo_v3 10
E=$E2E_WORK/recovered-event.json
event_json "$W" transition-recovered lpdemo_v3 > "$E"
check_contains "the recovered event says it finished on its own" "on its own" "$(json .message "$E")"
check_event_order "watch: started, stalled, completed, recovered" "$W" lpdemo_v3 \
  transition-started transition-stalled transition-completed transition-recovered
check_no_events "no resolution step" "$W" lpdemo_v3 transition-reverted transition-forced tasks-kicked stall-unresolved
check_lpctl "lpctl -o json status exits 0" 0 "$S" status
check_json "status: idle, no blocking count, no transition" '"\(.state) \(.blockingTasks) \(.transition)"' "idle null null" "$S"
I=$E2E_WORK/info.json
check_lpctl "lpctl -o json info lpdemo_v3 exits 0" 0 "$I" info lpdemo_v3
check_json "info: lpdemo_v3 enabled, not forced" '"\(.patch.state) \(.patch.forced)"' "enabled false" "$I"
check_no_events "not even later" "$W" lpdemo_v3 transition-reverted
watch_stop
save "$W"
