# shellcheck shell=sh
# Atomic replace through "lpctl load": with lpdemo_v1 loaded by lpctl, loading the cumulative lpdemo_v2
# (replace=true) waits for the replace transition (held open for ~5 s by a reader sleeping in v1's function)
# and ends with only lpdemo_v2 enabled; the kernel freed v1's patch but its module stays loaded, which
# "lpctl list" shows as a leftover and which blocks a new load of that name (already-loaded). "lpctl unload
# lpdemo_v1" removes the leftover (wasLeftover true) and leaves v2 patched. The automatic removal of free
# replaced modules (Apply:CleanupLeftovers, scenario 35) is turned off here to keep the leftover.

V1=$LP_DIR/lpdemo_v1.signed.ko
V2=$LP_DIR/lpdemo_v2.signed.ko
start_daemon_trusted Apply:CleanupLeftovers=false || exit 1
check_lpctl "lpctl load lpdemo_v1.signed.ko exits 0" 0 "$E2E_WORK/load-v1.json" load "$V1" --timeout 45 || exit 1
check "kernel: lpdemo_v1 enabled" 1 "$(cat "$LP_SYSFS/lpdemo_v1/enabled" 2>&1)"

# A reader sleeps 5 s in v1's function: the replace cannot finish before it returns, and lpctl load must wait.
hold_patch lpdemo_v1 5000 || exit 1
L=$E2E_WORK/load-v2.json
check_lpctl "lpctl load lpdemo_v2.signed.ko (replace) exits 0" 0 "$L" load "$V2" --timeout 45 || exit 1
save "$L"
check_json "load v2: transition completed, enabled" '"\(.transitionCompleted) \(.patch.state)"' "true enabled" "$L"
check_json "load v2 waited for the held transition (elapsed >= 1 s)" '.elapsedSeconds >= 1' true "$L"
# The transition is over, so the reader has left the function; let it finish writing (no signal).
wait "$PARKED_PID"
check "the held reader finished in v1's function" "lpdemo_v1: /proc/cmdline is live patched" "$(cat "$E2E_WORK/parked.out")"

# Kernel truth: v2 is the only patch, v1's patch is gone but its module is still loaded.
check "kernel: patches in $LP_SYSFS" lpdemo_v2 "$(cd "$LP_SYSFS" && echo *)"
check "kernel: lpdemo_v2 enabled, not in transition" "1 0" \
  "$(cat "$LP_SYSFS/lpdemo_v2/enabled" 2>&1) $(cat "$LP_SYSFS/lpdemo_v2/transition" 2>&1)"
check "kernel: module lpdemo_v1 still loaded" live "$(cat /sys/module/lpdemo_v1/initstate 2>&1)"

LS=$E2E_WORK/list.json
lpctl_json "$LS" list || fail "lpctl -o json list exits 0" "rc $?"
save "$LS"
check_json "list: only lpdemo_v2, enabled" '[.patches[] | "\(.name)=\(.state)"] | join(" ")' "lpdemo_v2=enabled" "$LS"
check_json "list: leftovers" '[.leftovers[].name] | join(" ")' lpdemo_v1 "$LS"
check_json "list: leftover refcnt is the kernel's" '.leftovers[] | select(.name == "lpdemo_v1") | .module.refcnt' \
  "$(cat /sys/module/lpdemo_v1/refcnt 2>&1)" "$LS"
S=$E2E_WORK/status.json
lpctl_json "$S" status || fail "lpctl -o json status exits 0" "rc $?"
check_json "status: 1 patch, 1 enabled, 1 leftover" '"\(.patchCount) \(.enabledPatchCount) \(.leftoverCount)"' "1 1 1" "$S"
check "/proc/cmdline shows the v2 banner" "lpdemo_v2: /proc/cmdline replaced atomically" "$(cat /proc/cmdline)"

# The leftover's name is taken: a new load of it is refused before the kernel is asked.
check_lpctl "lpctl load lpdemo_v1.signed.ko while it is a leftover exits 1" 1 "$E2E_WORK/load-v1-again.json" load "$V1"
check_contains "with already-loaded" "(already-loaded)" "$(cat "$E2E_WORK/load-v1-again.json.err")"
check_contains "naming lpctl unload" "lpctl unload lpdemo_v1" "$(cat "$E2E_WORK/load-v1-again.json.err")"

# Unloading the leftover.
U=$E2E_WORK/unload-v1.json
check_lpctl "lpctl unload lpdemo_v1 (the leftover) exits 0" 0 "$U" unload lpdemo_v1 --timeout 30
save "$U"
check_json "unload: was a leftover" '"\(.name) \(.wasLeftover)"' "lpdemo_v1 true" "$U"
check "kernel: /sys/module/lpdemo_v1 gone" absent "$([ -e /sys/module/lpdemo_v1 ] && echo present || echo absent)"
lpctl_json "$LS" list || fail "lpctl -o json list exits 0" "rc $?"
check_json "list after: lpdemo_v2 enabled, no leftovers" \
  '"\([.patches[] | "\(.name)=\(.state)"] | join(" ")) \(.leftovers | length)"' "lpdemo_v2=enabled 0" "$LS"
check "kernel: lpdemo_v2 still enabled" 1 "$(cat "$LP_SYSFS/lpdemo_v2/enabled" 2>&1)"
check "/proc/cmdline still shows the v2 banner" "lpdemo_v2: /proc/cmdline replaced atomically" "$(cat /proc/cmdline)"
