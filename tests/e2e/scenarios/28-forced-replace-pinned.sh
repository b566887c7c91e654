# shellcheck shell=sh
# A forced *replace* pins the replaced patch's module (Linux 5.18+), not the new one. lpdemo_v1 is loaded and a
# /proc/cmdline reader sleeps in its function; "lpctl load --no-wait" of the cumulative lpdemo_v2 (replace=true)
# then stalls on that reader. "lpctl force lpdemo_v2 --yes" completes it: lpdemo_v2 enabled, lpdemo_v1 gone from
# /sys/kernel/livepatch but its module kept with its reference, and the daemon reports pinned [lpdemo_v1]. list
# shows lpdemo_v1 as a forced leftover, lpdemo_v2 not forced; unloading lpdemo_v1 is refused with
# forced-module-pinned, while lpdemo_v2 (pinned by nothing) unloads and its module is removed.

V1=$LP_DIR/lpdemo_v1.signed.ko
V2=$LP_DIR/lpdemo_v2.signed.ko
original_cmdline=$(cat /proc/cmdline)
start_daemon_trusted Transitions:OnStall=None || exit 1
check_lpctl "lpctl load lpdemo_v1.signed.ko exits 0" 0 "$E2E_WORK/load-v1.json" load "$V1" --timeout 45 || exit 1
hold_patch lpdemo_v1 || exit 1
reader=$PARKED_PID

t0=$(uptime_ms)
check_lpctl "lpctl load --no-wait lpdemo_v2.signed.ko exits 0" 0 "$E2E_WORK/load-v2.json" load --no-wait "$V2" || exit 1
usleep 1500000
check "kernel: lpdemo_v2 still in transition (held by the reader in lpdemo_v1)" 1 "$(cat "$LP_SYSFS/lpdemo_v2/transition" 2>&1)"

F=$E2E_WORK/force.json
check_lpctl "lpctl -o json force lpdemo_v2 --yes exits 0" 0 "$F" force lpdemo_v2 --yes
force_ms=$(($(uptime_ms) - t0))
save "$F"
check "forced before the kernel's fake signal (15 s): $force_ms ms" yes "$([ "$force_ms" -lt 14000 ] && echo yes)"
check_json "force: completed, pinned [lpdemo_v1] (the replaced patch)" '"\(.completed) \(.pinned | join(","))"' "true lpdemo_v1" "$F"
check_parked "the reader still sleeps in lpdemo_v1's function" "$reader" lpdemo_cmdline_show
wait_transition lpdemo_v2 5
wait_patch_gone lpdemo_v1 10
check_contains "dmesg: the kernel forced the remaining tasks" "forcing remaining tasks to the patched state" "$(dmesg)"
check "kernel: lpdemo_v2 enabled" 1 "$(cat "$LP_SYSFS/lpdemo_v2/enabled" 2>&1)"
check "/proc/cmdline is lpdemo_v2's" "lpdemo_v2: /proc/cmdline replaced atomically" "$(cat /proc/cmdline)"
check "kernel: module lpdemo_v1 kept, refcnt 1" "present 1" \
  "$(presence /sys/module/lpdemo_v1) $(cat /sys/module/lpdemo_v1/refcnt 2>&1)"
check_rc "kernel: rmmod lpdemo_v1 fails (pinned)" 1 rmmod lpdemo_v1

L=$E2E_WORK/list.json
check_lpctl "lpctl -o json list exits 0" 0 "$L" list
save "$L"
check_json "list: lpdemo_v2 enabled, not forced" '[.patches[] | "\(.name)=\(.state)/\(.forced)"] | join(" ")' "lpdemo_v2=enabled/false" "$L"
check_json "list: leftover lpdemo_v1, forced" '[.leftovers[] | "\(.name)=\(.forced)"] | join(" ")' "lpdemo_v1=true" "$L"
S=$E2E_WORK/status.json
check_lpctl "lpctl -o json status exits 0" 0 "$S" status
check_json "status: forcedModules [lpdemo_v1]" '.forcedModules | join(",")' lpdemo_v1 "$S"
U=$E2E_WORK/unload-v1.json
check_lpctl "lpctl unload lpdemo_v1 exits 1" 1 "$U" unload lpdemo_v1
check_contains "with forced-module-pinned" "(forced-module-pinned)" "$(cat "$U.err")"
check "kernel: module lpdemo_v1 still loaded" present "$(presence /sys/module/lpdemo_v1)"

# lpdemo_v2 is pinned by nothing: its unpatch waits for no one (the reader is in lpdemo_v1's code).
check_lpctl "lpctl unload lpdemo_v2 exits 0" 0 "$E2E_WORK/unload-v2.json" unload lpdemo_v2 --timeout 30
check "kernel: module lpdemo_v2 unloaded" absent "$(presence /sys/module/lpdemo_v2)"
check "/proc/cmdline is the original again" "$original_cmdline" "$(cat /proc/cmdline)"
check_lpctl "lpctl -o json list exits 0" 0 "$L" list
check_json "list: only the pinned leftover lpdemo_v1 remains" \
  '"\(.patches | length) \([.leftovers[] | "\(.name)=\(.forced)"] | join(" "))"' "0 lpdemo_v1=true" "$L"
release_held
