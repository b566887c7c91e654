# shellcheck shell=sh
# Who may do what, checked by the daemon from the caller's socket credentials (issue 8). The daemon runs with
# Access:AdminGroup=lpadmin (the guest's admin-group user lpadm is in it). The unprivileged lpuser can read:
# status, list, verify, and the blocking tasks without their stacks; every mutation (load, unload, revert, kick,
# force) and the stacks are refused with exit 4 (permission-denied), the denial is logged with the uid, and the
# kernel never sees the refused load. lpadm, in the admin group, loads and reads the stacks. With
# Limits:MaxWatchStreamsPerUid=1, lpuser's second watch stream is refused with limit-exceeded; root's is not.

V1=$LP_DIR/lpdemo_v1.signed.ko
V3=$LP_DIR/lpdemo_v3.signed.ko
start_daemon_trusted Access:AdminGroup=lpadmin Transitions:StallAfter=00:00:02 Transitions:OnStall=None Limits:MaxWatchStreamsPerUid=1 || exit 1
check "the guest knows lpuser as uid 1000" 1000 "$(id -u lpuser)"
check "the socket lets every user connect" srw-rw-rw- "$(stat -c %A "$LPD_SOCKET")"

# ---- lpuser reads
S=$E2E_WORK/status-lpuser.json
check_lpctl_as "lpuser: lpctl status exits 0" 0 lpuser "$S" status
check_json "lpuser: status answers (kernel release)" .kernel.release "$(uname -r)" "$S"
check_lpctl_as "lpuser: lpctl list exits 0" 0 lpuser "$E2E_WORK/list-lpuser.json" list
check_lpctl_as "lpuser: lpctl verify lpdemo_v1.signed.ko exits 0" 0 lpuser "$E2E_WORK/verify-lpuser.json" verify "$V1"

# ---- lpuser's load is refused before the kernel sees it
D=$E2E_WORK/load-lpuser.json
check_lpctl_as "lpuser: lpctl load lpdemo_v1.signed.ko exits 4" 4 lpuser "$D" load "$V1"
check_contains "with permission-denied" "(permission-denied)" "$(cat "$D.err")"
check_json "and stdout is one document with error.reason permission-denied" .error.reason permission-denied "$D"
check "kernel: no module lpdemo_v1" absent "$(presence /sys/module/lpdemo_v1)"
check "kernel: no lpdemo_v1 line in dmesg" "" "$(dmesg | grep lpdemo_v1)"
L=$E2E_WORK/list.json
check_lpctl "lpctl -o json list exits 0" 0 "$L" list
check_json "list: empty" '"\(.patches | length) \(.leftovers | length)"' "0 0" "$L"
check_contains "the daemon logs the denial with the uid" "uid 1000" "$(grep -i 'denied' "$LPD_LOG")"

# ---- lpadm (admin group) loads; lpuser cannot unload
check_lpctl_as "lpadm (group lpadmin): lpctl load lpdemo_v1.signed.ko exits 0" 0 lpadm "$E2E_WORK/load-lpadm.json" load "$V1" --timeout 45
wait_transition lpdemo_v1
check "kernel: lpdemo_v1 enabled" 1 "$(cat "$LP_SYSFS/lpdemo_v1/enabled" 2>&1)"
D=$E2E_WORK/unload-lpuser.json
check_lpctl_as "lpuser: lpctl unload lpdemo_v1 exits 4" 4 lpuser "$D" unload lpdemo_v1
check_contains "with permission-denied" "(permission-denied)" "$(cat "$D.err")"
check "kernel: lpdemo_v1 still enabled" 1 "$(cat "$LP_SYSFS/lpdemo_v1/enabled" 2>&1)"

# ---- a transition held open: lpuser may see the blocking tasks, not their stacks, and may not resolve it
park_in_sleeper || exit 1
reader=$PARKED_PID
check_lpctl "root: lpctl load --no-wait lpdemo_v3.signed.ko exits 0" 0 "$E2E_WORK/load-v3.json" load --no-wait "$V3" || exit 1
t0=$(uptime_ms)
# Captured first, checked after: the kernel's fake signal ends the hold ~15 s in.
BN=$E2E_WORK/blocking-lpuser-nostacks.json
lpctl_as lpuser "$BN" blocking --no-stacks
bn_rc=$?
BA=$E2E_WORK/blocking-lpadm.json
lpctl_as lpadm "$BA" blocking
ba_rc=$?
K=$E2E_WORK/kick-lpuser.json
lpctl_as lpuser "$K" kick lpdemo_v3
k_rc=$?
check_in_transition lpdemo_v3 "lpuser's and lpadm's calls ($(($(uptime_ms) - t0)) ms after the load)"
check_parked "the reader was not kicked" "$reader" lpdemo_sleeper_wait
check "lpuser: lpctl blocking --no-stacks exit status" 0 "$bn_rc"
check_json "lpuser: the reader is listed, without stack or holder" \
  "[.tasks[] | select(.pid == $reader) | \"\\(.comm) \\(.stack | length) \\(.heldBy)\"] | join(\" \")" "cat 0 null" "$BN"
check "lpadm: lpctl blocking (with stacks) exit status" 0 "$ba_rc"
check_json "lpadm: the reader, held by lpdemo_sleeper_wait" \
  "[.tasks[] | select(.pid == $reader) | .heldBy.function] | join(\" \")" lpdemo_sleeper_wait "$BA"
check "lpuser: lpctl kick lpdemo_v3 exit status" 4 "$k_rc"
check_contains "with permission-denied" "(permission-denied)" "$(cat "$K.err")"
B=$E2E_WORK/blocking-lpuser.json
check_lpctl_as "lpuser: lpctl blocking (with stacks) exits 4" 4 lpuser "$B" blocking
check_contains "with permission-denied" "(permission-denied)" "$(cat "$B.err")"
for cmd in "revert lpdemo_v3" "force lpdemo_v3 --yes"; do
  D=$E2E_WORK/mutation-lpuser.json
  # shellcheck disable=SC2086 # the command's words
  check_lpctl_as "lpuser: lpctl $cmd exits 4" 4 lpuser "$D" $cmd
  check_contains "with permission-denied" "(permission-denied)" "$(cat "$D.err")"
done
check "kernel: lpdemo_v3 still enabled (not reverted)" 1 "$(cat "$LP_SYSFS/lpdemo_v3/enabled" 2>&1)"
check "dmesg: nothing was forced" "" "$(dmesg | grep 'forcing remaining tasks')"

release_sleeper
wait_transition lpdemo_v3 15

# ---- per-uid limits (Limits:MaxWatchStreamsPerUid=1): lpuser's second watch stream is refused, root's is not
_start_first_watch() {
  as_user lpuser lpctl --socket "$LPD_SOCKET" -o json watch > "$E2E_WORK/watch-lpuser.jsonl" 2>&1 &
  first_watch=$!
}
_start_first_watch
D=$E2E_WORK/watch-lpuser-2.json
# Until the first stream is open, a second one just runs out its --timeout (exit 0); then it is refused. The two race
# for the one slot: a second that opens first holds it, the first is refused and ends, and is then started again.
_second_watch_refused() {
  if _pid_gone "$first_watch"; then
    _start_first_watch
    return 1
  fi
  lpctl_as lpuser "$D" watch --timeout 1
  [ $? = 1 ] && grep -q limit-exceeded "$D.err"
}
wait_for 60 _second_watch_refused || fail "lpuser's second lpctl watch is refused with limit-exceeded within 60 s" "$(head -c 300 "$D.err")"
check_contains "the refusal names the setting" "MaxWatchStreamsPerUid" "$(cat "$D.err")"
check "lpuser's first watch still runs" running "$(_pid_gone "$first_watch" && echo finished || echo running)"
check_lpctl "root's own watch stream is not counted against lpuser" 0 "$E2E_WORK/watch-root.json" watch --timeout 1
check_contains "the daemon logs the limit with the uid" "limit reached: uid 1000" "$(cat "$LPD_LOG")"
kill "$first_watch" 2> /dev/null
