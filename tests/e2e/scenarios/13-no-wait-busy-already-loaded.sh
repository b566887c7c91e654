# shellcheck shell=sh
# "lpctl load --no-wait" returns as soon as the kernel accepted the module, while its transition is still
# running (held open by the kernel thread lpdemo_kthread sleeping in lpdemo_sleeper_wait, the function lpdemo_v3
# patches, which the kernel's fake signal cannot move); "lpctl watch" and "lpctl list" show it enabled once the
# thread is released. While that transition runs, the kernel would answer every other livepatch load with EBUSY
# (after creating a phantom directory for it): livepatchd waits its turn instead, without calling finit_module, and
# reports transition-in-progress naming lpdemo_v3 at its deadline (--timeout 3), or loads once the transition ends
# (a load started before the release). Loading a patch that is already loaded is refused with already-loaded.

V3=$LP_DIR/lpdemo_v3.signed.ko
V1=$LP_DIR/lpdemo_v1.signed.ko
start_daemon_trusted || exit 1
park_kthread || exit 1
W=$E2E_WORK/watch.jsonl
watch_start "$W" || exit 1

# ---- --no-wait: back while the kernel is still in transition
N=$E2E_WORK/load-nowait.json
t0=$(uptime_ms)
check_lpctl "lpctl load --no-wait lpdemo_v3.signed.ko exits 0" 0 "$N" load --no-wait "$V3" || exit 1
log "load --no-wait returned after $(($(uptime_ms) - t0)) ms"
check "kernel: lpdemo_v3 still in transition after lpctl returned" "1 1" \
  "$(cat "$LP_SYSFS/lpdemo_v3/enabled" 2>&1) $(cat "$LP_SYSFS/lpdemo_v3/transition" 2>&1)"
save "$N"
check_json "load --no-wait: transition not completed" .transitionCompleted false "$N"
check_json "load --no-wait: patch enabling, in transition" '"\(.patch.state) \(.patch.transition)"' "enabling true" "$N"
I=$E2E_WORK/info-during.json
lpctl_json "$I" info lpdemo_v3 || fail "lpctl -o json info lpdemo_v3 exits 0" "rc $?"
check_json "info while held: enabling" .patch.state enabling "$I"

# ---- another load while that transition runs: EBUSY, retried until the deadline
B=$E2E_WORK/load-busy.json
t0=$(uptime_ms)
check_lpctl "lpctl load lpdemo_v1.signed.ko --timeout 3 during the transition exits 1" 1 "$B" load "$V1" --timeout 3
busy_ms=$(($(uptime_ms) - t0))
log "busy load returned after $busy_ms ms"
check_contains "with transition-in-progress" "(transition-in-progress)" "$(cat "$B.err")"
check "it waited its turn until its 3 s deadline (took $busy_ms ms)" yes "$([ "$busy_ms" -ge 2500 ] && echo yes)"
check_json "stdout: the load document with error.reason transition-in-progress" .error.reason transition-in-progress "$B"
check_contains "the message names the transition it waited for" "lpdemo_v3" "$(json .error.message "$B")"
# The daemon's own clock: it gave up at its 3 s deadline, not seconds later (lpctl's start-up is not counted).
check_json "the daemon ended it at its 3 s deadline (elapsed $(json .operation.elapsedSeconds "$B") s)" \
  '.operation.elapsedSeconds >= 2.9 and .operation.elapsedSeconds < 4.5' true "$B"
# It waited without trying: finit_module was not called, so no phantom lpdemo_v1 directory came and went.
check "watch: no lpdemo_v1 event while it waited" 0 "$(jq -s '[.[] | select(.patch == "lpdemo_v1")] | length' "$W")"
check "kernel: no module lpdemo_v1" absent "$([ -e /sys/module/lpdemo_v1 ] && echo present || echo absent)"
check "kernel: lpdemo_v3 still in transition" 1 "$(cat "$LP_SYSFS/lpdemo_v3/transition" 2>&1)"

# A load that keeps retrying succeeds once the transition is over.
BG=$E2E_WORK/load-retried.json
lpctl --socket "$LPD_SOCKET" -o json load "$V1" --timeout 40 > "$BG" 2> "$BG.err" &
bg_pid=$!
sleep 2
check "the retrying load is still waiting" running "$(_pid_gone "$bg_pid" && echo finished || echo running)"
release_sleeper

# ---- watch and list show lpdemo_v3 enabled
wait_transition lpdemo_v3
wait_event "$W" transition-completed lpdemo_v3 15
check "transition-completed ends in enabled" enabled \
  "$(jq -rs '[.[] | select(.kind == "transition-completed" and .patch == "lpdemo_v3")][0].toState' "$W")"
check_event_order "watch shows lpdemo_v3's transition" "$W" lpdemo_v3 transition-started transition-completed

wait "$bg_pid"
bg_rc=$?
check "the retried load exits 0 once the transition ended ($(head -c 200 "$BG.err"))" 0 "$bg_rc"
save "$BG"
check "watch: lpdemo_v1 appeared once and was never removed" "1 0" \
  "$(jq -s '[.[] | select(.patch == "lpdemo_v1" and .kind == "patch-appeared")] | length' "$W") $(jq -s '[.[] | select(.patch == "lpdemo_v1" and .kind == "patch-removed")] | length' "$W")"
check_json "retried load: lpdemo_v1 enabled" '"\(.name) \(.transitionCompleted) \(.patch.state)"' "lpdemo_v1 true enabled" "$BG"
wait_transition lpdemo_v1
watch_stop
save "$W"

LS=$E2E_WORK/list.json
lpctl_json "$LS" list || fail "lpctl -o json list exits 0" "rc $?"
save "$LS"
check_json "list: both enabled" '[.patches[] | "\(.name)=\(.state)"] | sort | join(" ")' \
  "lpdemo_v1=enabled lpdemo_v3=enabled" "$LS"
check "kernel agrees: both enabled" "1 1" "$(cat "$LP_SYSFS/lpdemo_v1/enabled") $(cat "$LP_SYSFS/lpdemo_v3/enabled")"
check "new reads use the patched function" "lpdemo_v3: patched wait returns at once" "$(cat /proc/lpdemo_sleep)"

# ---- already loaded
A=$E2E_WORK/load-again.json
check_lpctl "lpctl load lpdemo_v3.signed.ko again exits 1" 1 "$A" load "$V3"
check_contains "with already-loaded" "(already-loaded)" "$(cat "$A.err")"
check_json "and stdout is one document with error.reason already-loaded" .error.reason already-loaded "$A"
check_lpctl "lpctl load --no-wait lpdemo_v1.signed.ko again exits 1" 1 "$A" load --no-wait "$V1"
check_contains "with already-loaded" "(already-loaded)" "$(cat "$A.err")"
check "kernel: both still enabled" "1 1" "$(cat "$LP_SYSFS/lpdemo_v1/enabled") $(cat "$LP_SYSFS/lpdemo_v3/enabled")"
