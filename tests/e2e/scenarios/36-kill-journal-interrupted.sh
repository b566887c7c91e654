# shellcheck shell=sh
# Crash safety (issue 8): livepatchd is killed with SIGKILL in the middle of a load transition, and again in the
# middle of an unload, on the real kernel. Each time the audit journal on disk has the operation's "started"
# entry and no "finished" one. The kernel finishes what it was doing without the daemon; at the restart the
# daemon closes each open operation as "interrupted" with what the kernel shows (the load completed: lpdemo_v3
# enabled; the unload disabled lpdemo_v1 but its module was never removed), lpctl status/list match the
# kernel, nothing is loaded twice, and the next operation (removing the leftover module) works and is journalled.

V3=$LP_DIR/lpdemo_v3.signed.ko
V1=$LP_DIR/lpdemo_v1.signed.ko
J=$LPD_STATE_DIR/journal/journal.jsonl
_in_transition() { [ "$(cat "$LP_SYSFS/$1/transition" 2> /dev/null)" = 1 ]; }
# _entries EVENT OPERATION PATCH: how many journal lines on disk match. A load's "started" line is written before
# the module is read, so it has no patch yet: lines belong to the operation (op) that any line names the patch of.
_entries() {
  jq -s --arg e "$1" --arg o "$2" --arg p "$3" \
    '[.[] | select(.operation == $o and .patch == $p) | .op] as $ops | [.[] | select(.event == $e and .operation == $o and (.op as $id | $ops | index($id)))] | length' "$J" 2>&1
}
kill_daemon() {
  kill -KILL "$LPD_PID"
  wait_for 10 _pid_gone "$LPD_PID" || fail "livepatchd dies on SIGKILL"
  wait "$LPD_PID" 2> /dev/null
  LPD_PID=""
}

# ---- 1. SIGKILL while a load waits for its transition
start_daemon_trusted || exit 1
park_in_sleeper || exit 1
lpctl --socket "$LPD_SOCKET" -o json load "$V3" --timeout 60 > "$E2E_WORK/load.json" 2> "$E2E_WORK/load.json.err" &
load_pid=$!
wait_for 30 _in_transition lpdemo_v3 || fail "kernel: lpdemo_v3 in transition within 30 s" "$(cat "$E2E_WORK/load.json.err")"
kill_daemon
check "journal on disk: load of lpdemo_v3 started" 1 "$(_entries started load lpdemo_v3)"
check "journal on disk: and not finished" 0 "$(_entries finished load lpdemo_v3)"
wait "$load_pid"
check "the waiting lpctl load fails when the daemon dies" yes "$([ $? -ne 0 ] && echo yes)"
release_sleeper
wait_transition lpdemo_v3

start_daemon_trusted || exit 1
H=$E2E_WORK/history-1.json
check_lpctl "lpctl history exits 0" 0 "$H" history
save "$H" "$J"
check_json "history: the load is interrupted, the kernel shows it enabled" \
  '[.operations[] | select(.operation == "load" and .patch == "lpdemo_v3") | "\(.outcome) \(.kernelState)"] | join(",")' "interrupted enabled" "$H"
check_json "history: it says the load completed" \
  '[.operations[] | select(.operation == "load")][0].message | startswith("the load completed")' true "$H"
check "journal on disk: the load is finished now" 1 "$(_entries finished load lpdemo_v3)"
L=$E2E_WORK/list-1.json
check_lpctl "lpctl list exits 0" 0 "$L" list
check_json "list matches the kernel: lpdemo_v3 enabled" '[.patches[] | "\(.name) \(.state)"] | join(",")' "lpdemo_v3 enabled" "$L"
check "kernel: lpdemo_v3 loaded once" 1 "$(grep -c '^lpdemo_v3 ' /proc/modules)"

# ---- 2. SIGKILL while an unload waits for the unpatching transition
check_lpctl "lpctl load lpdemo_v1.signed.ko exits 0" 0 "$E2E_WORK/load-v1.json" load "$V1" --timeout 45 || exit 1
hold_patch lpdemo_v1 || exit 1
lpctl --socket "$LPD_SOCKET" -o json unload lpdemo_v1 --timeout 60 > "$E2E_WORK/unload.json" 2> "$E2E_WORK/unload.json.err" &
unload_pid=$!
wait_for 30 _in_transition lpdemo_v1 || fail "kernel: lpdemo_v1 unpatching within 30 s" "$(cat "$E2E_WORK/unload.json.err")"
check "kernel: lpdemo_v1 disabled, in transition" "0 1" "$(cat "$LP_SYSFS/lpdemo_v1/enabled" "$LP_SYSFS/lpdemo_v1/transition" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
kill_daemon
check "journal on disk: unload of lpdemo_v1 started" 1 "$(_entries started unload lpdemo_v1)"
check "journal on disk: and not finished" 0 "$(_entries finished unload lpdemo_v1)"
wait "$unload_pid"
release_held
wait_patch_gone lpdemo_v1
check "kernel: the module lpdemo_v1 is still loaded (nobody removed it)" present "$(presence /sys/module/lpdemo_v1)"

start_daemon_trusted || exit 1
H=$E2E_WORK/history-2.json
check_lpctl "lpctl history --patch lpdemo_v1 exits 0" 0 "$H" history --patch lpdemo_v1
save "$H" "$J"
check_json "history: the unload is interrupted, the kernel shows only the module" \
  '[.operations[] | select(.operation == "unload") | "\(.outcome) \(.kernelState)"] | join(",")' "interrupted module-only" "$H"
check_json "history: it says the module was not removed" \
  '[.operations[] | select(.operation == "unload")][0].message | startswith("the patch was disabled, but its module was not removed")' true "$H"
L=$E2E_WORK/list-2.json
check_lpctl "lpctl list exits 0" 0 "$L" list
check_json "list matches the kernel: lpdemo_v3 enabled, lpdemo_v1 a leftover" \
  '"\([.patches[].name] | join(",")) \([.leftovers[].name] | join(","))"' "lpdemo_v3 lpdemo_v1" "$L"

# ---- the next operation works and is journalled
check_lpctl "lpctl unload lpdemo_v1 (the leftover) exits 0" 0 "$E2E_WORK/unload-2.json" unload lpdemo_v1 --timeout 45
check "kernel: module lpdemo_v1 gone" absent "$(presence /sys/module/lpdemo_v1)"
H=$E2E_WORK/history-3.json
check_lpctl "lpctl history exits 0" 0 "$H" history --patch lpdemo_v1
check_json "history: the interrupted unload, then a completed one" '[.operations[] | select(.operation == "unload") | .outcome] | join(",")' "interrupted,completed" "$H"
check "journal on disk: every line is JSON" 0 "$(jq -c . "$J" > /dev/null 2>&1; echo $?)"
