# shellcheck shell=sh
# A stalled load is detected and explained. A reader sleeps in lpdemo_sleeper_wait(), the function lpdemo_v3
# replaces, so "lpctl load --no-wait lpdemo_v3" starts a transition that cannot finish. Past
# Transitions:StallAfter (1 s here; ResolveAfter is far away and OnStall=None, so nothing acts) watch shows
# transition-stalled, status says stalled with one blocking task, and "lpctl blocking" names the reader: its pid,
# comm and command line as /proc has them, not a kernel thread, its kernel stack, and the patched function that
# holds it (lpdemo_sleeper_wait in object lpdemo_sleeper). The answers are captured first and checked after, and
# the kernel must still be in transition once they are all in: the kernel's own fake signal ends the stall ~15 s
# into the transition, which a busy host's lpctl calls can reach (24-stall-recovered asks the other questions).
# Releasing the reader then ends the transition: the stall is reported as recovered and status is idle again.

V3=$LP_DIR/lpdemo_v3.signed.ko
start_daemon_trusted Transitions:StallAfter=00:00:01 Transitions:ResolveAfter=00:05:00 Transitions:OnStall=None || exit 1
park_in_sleeper || exit 1
reader=$PARKED_PID
W=$E2E_WORK/watch.jsonl
watch_start "$W" || exit 1

t0=$(uptime_ms)
check_lpctl "lpctl load --no-wait lpdemo_v3.signed.ko exits 0" 0 "$E2E_WORK/load.json" load --no-wait "$V3" || exit 1
wait_event "$W" transition-stalled lpdemo_v3 12 || exit 1
log "transition-stalled seen $(($(uptime_ms) - t0)) ms after the load started"

# ---- capture while stalled
B=$E2E_WORK/blocking.json
S=$E2E_WORK/status.json
I=$E2E_WORK/info.json
lpctl_json "$B" blocking
b_rc=$?
reader_comm=$(cat "/proc/$reader/comm")
reader_cmdline=$(tr '\0' ' ' < "/proc/$reader/cmdline" | sed 's/ $//')
reader_state=$(cat "/proc/$reader/task/$reader/patch_state")
lpctl_json "$S" status
s_rc=$?
lpctl_json "$I" info lpdemo_v3
i_rc=$?
lpctl --socket "$LPD_SOCKET" status > "$E2E_WORK/status.txt" 2>&1
lpctl --socket "$LPD_SOCKET" check > "$E2E_WORK/check.txt" 2>&1
c_rc=$?
check_in_transition lpdemo_v3 "the captures ($(($(uptime_ms) - t0)) ms after the load)"

check "lpctl check exits 2 (stalled)" 2 "$c_rc"
check_contains "lpctl check says CRITICAL and names the patch" "LIVEPATCH CRITICAL - stalled: lpdemo_v3 patching for" "$(cat "$E2E_WORK/check.txt")"

# ---- the stall event
STALL=$E2E_WORK/stall-event.json
event_json "$W" transition-stalled lpdemo_v3 > "$STALL"
check_json "the stall event counts 1 blocking task" .blockingTasks 1 "$STALL"
check_json "the stall event says it ran at least StallAfter (1 s)" '.seconds >= 1 and .seconds < 15' true "$STALL"
check_contains "the stall event's message names the reader" "cat (pid $reader)" "$(json .message "$STALL")"
check_contains "and the function holding it" lpdemo_sleeper_wait "$(json .message "$STALL")"

# ---- blocking: the kernel's truth about the reader, read from /proc
check "lpctl -o json blocking exit status" 0 "$b_rc"
check_json "blocking: lpdemo_v3, patching" '"\(.patch) \(.patching)"' "lpdemo_v3 true" "$B"
check_json "blocking: exactly one task, the parked reader" '[.tasks[].pid] | join(" ")' "$reader" "$B"
check_json "blocking: its tid is its pid" '.tasks[0].tid' "$reader" "$B"
check_json "blocking: comm as in /proc/$reader/comm" '.tasks[0].comm' "$reader_comm" "$B"
check_json "blocking: cmdline as in /proc/$reader/cmdline" '.tasks[0].cmdline' "$reader_cmdline" "$B"
check_json "blocking: not a kernel thread" '.tasks[0].kernelThread' false "$B"
check_json "blocking: held by lpdemo_sleeper_wait in lpdemo_sleeper" '"\(.tasks[0].heldBy.function) \(.tasks[0].heldBy.object)"' \
  "lpdemo_sleeper_wait lpdemo_sleeper" "$B"
check_json "blocking: the holding frame is lpdemo_sleeper_wait" '.tasks[0].heldBy.frame | test("lpdemo_sleeper_wait")' true "$B"
check_json "blocking: the stack has that frame" '[.tasks[0].stack[] | select(test("lpdemo_sleeper_wait"))] | length >= 1' true "$B"
check_json "blocking: elapsed at least 1 s" '.elapsedSeconds >= 1' true "$B"
check_json "blocking: threads were scanned" '.threadsScanned > 1' true "$B"
# The kernel agrees: the reader had not switched (patch_state 0 = unpatched, the target is 1).
check "kernel: the reader's patch_state was 0" 0 "$reader_state"

# ---- status and info
check "lpctl -o json status exit status" 0 "$s_rc"
check_json "status: stalled, 1 blocking task" '"\(.state) \(.blockingTasks)"' "stalled 1" "$S"
check_json "status: the transition is lpdemo_v3 patching" '"\(.transition.patch) \(.transition.patching)"' "lpdemo_v3 true" "$S"
check "lpctl -o json info lpdemo_v3 exit status" 0 "$i_rc"
check_json "info: lpdemo_v3 stalled, in transition" '"\(.patch.state) \(.patch.transition)"' "stalled true" "$I"
check_contains "lpctl status (table): a Blocking line with 1 task" "1 task" "$(grep '^Blocking:' "$E2E_WORK/status.txt")"
check_contains "lpctl status (table): it points at lpctl blocking" "lpctl blocking" "$(grep '^Blocking:' "$E2E_WORK/status.txt")"
save "$B" "$S"

# ---- the reader is released: the stall ends on its own
release_sleeper
wait_transition lpdemo_v3 15
wait_event "$W" transition-recovered lpdemo_v3 15
watch_stop
save "$W"
check_event_order "watch: started, stalled, recovered" "$W" lpdemo_v3 transition-started transition-stalled transition-recovered
check_no_events "no resolution step was taken" "$W" lpdemo_v3 transition-reverted transition-forced tasks-kicked stall-unresolved
check "the reader finished in the original function" "lpdemo_sleeper: original wait finished" "$(cat "$E2E_WORK/parked.out")"
check_lpctl "lpctl -o json status exits 0" 0 "$S" status
check_json "status after the release: idle, no blocking count" '"\(.state) \(.blockingTasks) \(.transition)"' "idle null null" "$S"
B=$E2E_WORK/blocking-after.json
check_lpctl "lpctl -o json blocking exits 0 with no transition" 0 "$B" blocking
check_json "blocking: no transition, no tasks" '"\(.patch) \(.tasks | length)"' "null 0" "$B"
check_contains "lpctl blocking (table) says so" "no transition is running" "$(lpctl --socket "$LPD_SOCKET" blocking 2>&1)"
wait_lpctl_state lpdemo_v3 enabled 10
