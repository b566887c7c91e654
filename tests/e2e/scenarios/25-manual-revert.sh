# shellcheck shell=sh
# "lpctl revert" during a stalled load reverses it and removes the module. A reader sleeps in
# lpdemo_sleeper_wait(); lpdemo_v3 stalls (StallAfter=2 s, no policy: OnStall=None). First a load made with
# --no-wait: "lpctl revert lpdemo_v3" exits 0, says the module was removed, the kernel has neither the patch nor
# the module, and the reader still sleeps in the original function. A second revert is patch-not-found. Then the
# operator's usual case, a waiting "lpctl load" stuck on the stall, reverted from another shell: the revert must
# not wait behind the load, and the load exits 1 saying its transition was reversed. Both before the kernel's
# own fake signal (~15 s) could end the stall.

V3=$LP_DIR/lpdemo_v3.signed.ko
start_daemon_trusted Transitions:StallAfter=00:00:02 Transitions:ResolveAfter=00:05:00 Transitions:OnStall=None || exit 1
park_in_sleeper || exit 1
reader=$PARKED_PID
W=$E2E_WORK/watch.jsonl
watch_start "$W" || exit 1

# ---- revert a --no-wait load
t0=$(uptime_ms)
check_lpctl "lpctl load --no-wait lpdemo_v3.signed.ko exits 0" 0 "$E2E_WORK/load.json" load --no-wait "$V3" || exit 1
wait_lpctl_state lpdemo_v3 stalled 12 || exit 1
R=$E2E_WORK/revert.json
check_lpctl "lpctl -o json revert lpdemo_v3 exits 0" 0 "$R" revert lpdemo_v3 --timeout 20
revert_ms=$(($(uptime_ms) - t0))
save "$R"
check "reverted before the kernel's fake signal (15 s): $revert_ms ms" yes "$([ "$revert_ms" -lt 14000 ] && echo yes)"
check_json "revert: completed, module removed" '"\(.name) \(.completed) \(.moduleRemoved)"' "lpdemo_v3 true true" "$R"
check "kernel: $LP_SYSFS/lpdemo_v3 gone" absent "$(presence "$LP_SYSFS/lpdemo_v3")"
check "kernel: module lpdemo_v3 unloaded" absent "$(presence /sys/module/lpdemo_v3)"
check_parked "the reader still sleeps in the original function" "$reader" lpdemo_sleeper_wait
wait_event "$W" transition-reverted lpdemo_v3 10
check_event_order "watch: stalled, reverted, removed" "$W" lpdemo_v3 transition-stalled transition-reverted patch-removed
L=$E2E_WORK/list.json
check_lpctl "lpctl -o json list exits 0" 0 "$L" list
check_json "list: no patch, no leftover" '"\(.patches | length) \(.leftovers | length)"' "0 0" "$L"
R2=$E2E_WORK/revert-again.json
check_lpctl "lpctl revert lpdemo_v3 again exits 1" 1 "$R2" revert lpdemo_v3
check_contains "with patch-not-found" "(patch-not-found)" "$(cat "$R2.err")"
T=$(lpctl --socket "$LPD_SOCKET" revert nosuch 2>&1)
check_contains "lpctl revert (table) of an unknown patch names it" nosuch "$T"

# ---- revert a waiting load, from another shell
LW=$E2E_WORK/load-wait.json
t0=$(uptime_ms)
lpctl --socket "$LPD_SOCKET" -o json load "$V3" --timeout 40 > "$LW" 2> "$LW.err" &
load_pid=$!
wait_event_count "$W" transition-stalled lpdemo_v3 2 12 || exit 1
check "the load is still waiting" running "$(_pid_gone "$load_pid" && echo finished || echo running)"
R3=$E2E_WORK/revert-waiting.json
t1=$(uptime_ms)
check_lpctl "lpctl -o json revert lpdemo_v3 of a waiting load exits 0" 0 "$R3" revert lpdemo_v3 --timeout 20
revert_ms=$(($(uptime_ms) - t1))
save "$R3"
log "revert of the waiting load took $revert_ms ms, $(($(uptime_ms) - t0)) ms after the load started"
check "the revert did not wait behind the load ($revert_ms ms)" yes "$([ "$revert_ms" -lt 6000 ] && echo yes)"
check_json "revert: completed, module removed" '"\(.completed) \(.moduleRemoved)"' "true true" "$R3"
wait "$load_pid"
load_rc=$?
save "$LW" "$LW.err"
check "the reverted load exits 1" 1 "$load_rc"
check_contains "and says its transition was reversed" "reversed" "$(cat "$LW.err")"
check "kernel: module lpdemo_v3 unloaded" absent "$(presence /sys/module/lpdemo_v3)"
check_parked "the reader still sleeps in the original function" "$reader" lpdemo_sleeper_wait

release_sleeper
wait "$reader"
check "released, the reader returns the original result" "lpdemo_sleeper: original wait finished" "$(cat "$E2E_WORK/parked.out")"
watch_stop
save "$W"
