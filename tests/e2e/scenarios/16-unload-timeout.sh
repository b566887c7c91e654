# shellcheck shell=sh
# "lpctl unload --timeout" of a patch whose unpatching transition is held open (a reader sleeps in lpdemo_v1's
# function): the patch is disabled, but the transition does not finish in time, so lpctl exits 1 with
# transition-timeout and the kernel still has the patch, disabling. A second unload started while it is still
# held only waits (the patch is already disabled) and, once the reader is released, finishes: the module is
# removed and /proc/cmdline is the original again.

M=$LP_DIR/lpdemo_v1.signed.ko
original_cmdline=$(cat /proc/cmdline)
start_daemon_trusted || exit 1
check_lpctl "lpctl load lpdemo_v1.signed.ko exits 0" 0 "$E2E_WORK/load.json" load "$M" --timeout 45 || exit 1
hold_patch lpdemo_v1 || exit 1

U=$E2E_WORK/unload-timeout.json
t0=$(uptime_ms)
check_lpctl "lpctl unload lpdemo_v1 --timeout 3 while held exits 1" 1 "$U" unload lpdemo_v1 --timeout 3
log "unload --timeout 3 returned after $(($(uptime_ms) - t0)) ms"
check_contains "with transition-timeout" "(transition-timeout)" "$(cat "$U.err")"
check_contains "saying it is still running" "still running" "$(cat "$U.err")"
check "kernel: lpdemo_v1 disabled, still in transition" "0 1" \
  "$(cat "$LP_SYSFS/lpdemo_v1/enabled" 2>&1) $(cat "$LP_SYSFS/lpdemo_v1/transition" 2>&1)"
I=$E2E_WORK/info-during.json
lpctl_json "$I" info lpdemo_v1 || fail "lpctl -o json info lpdemo_v1 exits 0" "rc $?"
save "$I"
check_json "info: disabling, in transition" '"\(.patch.state) \(.patch.transition)"' "disabling true" "$I"

# A second unload while still held: it waits instead of failing.
U2=$E2E_WORK/unload.json
lpctl --socket "$LPD_SOCKET" -o json unload lpdemo_v1 --timeout 40 > "$U2" 2> "$U2.err" &
unload_pid=$!
sleep 2
check "the second unload waits for the held transition" running "$(_pid_gone "$unload_pid" && echo finished || echo running)"
release_held
wait "$unload_pid"
unload_rc=$?
check "the second unload exits 0 after the release ($(head -c 200 "$U2.err"))" 0 "$unload_rc"
save "$U2"
check_json "unload: name" .name lpdemo_v1 "$U2"
check "kernel: $LP_SYSFS/lpdemo_v1 gone" absent "$([ -e "$LP_SYSFS/lpdemo_v1" ] && echo present || echo absent)"
check "kernel: /sys/module/lpdemo_v1 gone" absent "$([ -e /sys/module/lpdemo_v1 ] && echo present || echo absent)"
check "/proc/cmdline is the original again" "$original_cmdline" "$(cat /proc/cmdline)"
LS=$E2E_WORK/list.json
lpctl_json "$LS" list || fail "lpctl -o json list exits 0" "rc $?"
check_json "lpctl list: empty" '"\(.patches | length) \(.leftovers | length)"' "0 0" "$LS"
