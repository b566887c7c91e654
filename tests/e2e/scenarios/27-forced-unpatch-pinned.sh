# shellcheck shell=sh
# "lpctl force" of a stalled unpatch pins the module until reboot, and livepatchd remembers it. lpdemo_v1 is
# loaded, a /proc/cmdline reader sleeps in its replacement function (hold_ms), and "lpctl unload --timeout 3"
# leaves the unpatching transition running (transition-timeout). "lpctl force" without --yes is refused;
# "lpctl force lpdemo_v1 --yes" completes the unpatch and reports lpdemo_v1 pinned: the kernel dropped the patch
# from /sys/kernel/livepatch but keeps the module's reference (rmmod fails). list shows it as a forced leftover,
# status lists it in forcedModules, the pin is recorded in the state dir with this boot's id, and "lpctl unload
# lpdemo_v1" is refused with forced-module-pinned. A restarted daemon still knows the pin.

M=$LP_DIR/lpdemo_v1.signed.ko
original_cmdline=$(cat /proc/cmdline)
start_daemon_trusted Transitions:OnStall=None || exit 1
check_lpctl "lpctl load lpdemo_v1.signed.ko exits 0" 0 "$E2E_WORK/load.json" load "$M" --timeout 45 || exit 1
hold_patch lpdemo_v1 || exit 1
reader=$PARKED_PID
W=$E2E_WORK/watch.jsonl
watch_start "$W" || exit 1

t0=$(uptime_ms)
U=$E2E_WORK/unload-timeout.json
check_lpctl "lpctl unload lpdemo_v1 --timeout 3 while held exits 1" 1 "$U" unload lpdemo_v1 --timeout 3
check_contains "with transition-timeout" "(transition-timeout)" "$(cat "$U.err")"
check "kernel: lpdemo_v1 disabled, still in transition" "0 1" \
  "$(cat "$LP_SYSFS/lpdemo_v1/enabled" 2>&1) $(cat "$LP_SYSFS/lpdemo_v1/transition" 2>&1)"

# ---- force without --yes: refused by lpctl, nothing happens
F0=$E2E_WORK/force-noyes.json
check_lpctl "lpctl force lpdemo_v1 without --yes exits 1" 1 "$F0" force lpdemo_v1
check_contains "with confirmation-required" "(confirmation-required)" "$(cat "$F0.err")"
check_contains "explaining the cost (reboot)" "reboot" "$(cat "$F0.err")"
check "kernel: still in transition" 1 "$(cat "$LP_SYSFS/lpdemo_v1/transition" 2>&1)"

# ---- force --yes
F=$E2E_WORK/force.json
check_lpctl "lpctl -o json force lpdemo_v1 --yes exits 0" 0 "$F" force lpdemo_v1 --yes
force_ms=$(($(uptime_ms) - t0))
save "$F"
check_json "force: completed, pinned [lpdemo_v1]" '"\(.completed) \(.pinned | join(","))"' "true lpdemo_v1" "$F"
check "forced before the kernel's fake signal (15 s): $force_ms ms" yes "$([ "$force_ms" -lt 14000 ] && echo yes)"
check_parked "the forced reader still sleeps in lpdemo_v1's function" "$reader" lpdemo_cmdline_show
wait_patch_gone lpdemo_v1 10
check_contains "dmesg: the kernel forced the remaining tasks (6.1 says \"to the patched state\" either way)" "forcing remaining tasks" "$(dmesg)"
check_contains "dmesg: unpatching complete" "'lpdemo_v1': unpatching complete" "$(dmesg)"
check "/proc/cmdline is the original again" "$original_cmdline" "$(cat /proc/cmdline)"
check "kernel: module lpdemo_v1 still loaded" present "$(presence /sys/module/lpdemo_v1)"
check "kernel: the forced module keeps its reference (refcnt)" 1 "$(cat /sys/module/lpdemo_v1/refcnt 2>&1)"
check_rc "kernel: rmmod lpdemo_v1 fails (pinned)" 1 rmmod lpdemo_v1
wait_event "$W" transition-forced lpdemo_v1 10
check_event_order "watch: unpatching started, forced" "$W" lpdemo_v1 transition-started transition-forced

check_pinned() { # check_pinned WHEN: what lpctl says about the pinned leftover
  L=$E2E_WORK/list.json
  check_lpctl "$1: lpctl -o json list exits 0" 0 "$L" list
  check_json "$1: list: no patch; leftover lpdemo_v1, forced" \
    '"\(.patches | length) \([.leftovers[] | "\(.name)=\(.forced)"] | join(" "))"' "0 lpdemo_v1=true" "$L"
  check_json "$1: list: the leftover's refcnt as in sysfs" '.leftovers[0].module.refcnt' \
    "$(cat /sys/module/lpdemo_v1/refcnt)" "$L"
  check_contains "$1: lpctl list (table) says forced (reboot to unload)" "forced (reboot to unload)" \
    "$(lpctl --socket "$LPD_SOCKET" list 2>&1)"
  S=$E2E_WORK/status.json
  check_lpctl "$1: lpctl -o json status exits 0" 0 "$S" status
  check_json "$1: status: forcedModules [lpdemo_v1], 1 leftover, idle" \
    '"\(.forcedModules | join(",")) \(.leftoverCount) \(.state)"' "lpdemo_v1 1 idle" "$S"
  U2=$E2E_WORK/unload-pinned.json
  check_lpctl "$1: lpctl unload lpdemo_v1 exits 1" 1 "$U2" unload lpdemo_v1
  check_contains "$1: with forced-module-pinned" "(forced-module-pinned)" "$(cat "$U2.err")"
  check "$1: kernel: module lpdemo_v1 still loaded, refcnt 1" "present 1" \
    "$(presence /sys/module/lpdemo_v1) $(cat /sys/module/lpdemo_v1/refcnt 2>&1)"
}
check_pinned "after the force"

# The pin is recorded in the state dir, for this boot.
P=$LPD_STATE_DIR/pins.json
check "the pin record exists" present "$(presence "$P")"
save "$P"
check_contains "the pin record names lpdemo_v1" lpdemo_v1 "$(cat "$P" 2> /dev/null)"
check_contains "the pin record carries this boot's id" "$(cat /proc/sys/kernel/random/boot_id)" "$(cat "$P" 2> /dev/null)"

# ---- the daemon restarts: the pin survives (same boot)
watch_stop
save "$W"
stop_daemon
start_daemon_trusted Transitions:OnStall=None || exit 1
check_pinned "after a daemon restart"

release_held
