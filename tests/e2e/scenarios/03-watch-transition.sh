# shellcheck shell=sh
# "lpctl watch" streams a patch's transition: transition-started, then transition-completed, as JSON lines with
# increasing sequence numbers; while the transition runs, status and info say so. The transition is held open
# by a task sleeping in the function being patched (lpdemo_sleeper_wait, patched by lpdemo_v3), so it lasts as
# long as the test wants, not 2 ms or 2 s at random. "watch --count N" ends the stream by itself.

start_daemon || exit 1
park_in_sleeper || exit 1
# Two watchers: a plain one for the checks, and one that must stop by itself after 2 events.
watch_start "$E2E_WORK/watch2.jsonl" --count 2 --timeout 60 || exit 1
COUNTED=$WATCH_PID
W=$E2E_WORK/watch.jsonl
watch_start "$W" || exit 1

insmod_lp lpdemo_v3.ko || exit 1
wait_event "$W" transition-started lpdemo_v3 15
check "kernel: lpdemo_v3 still in transition" 1 "$(cat "$LP_SYSFS/lpdemo_v3/transition")"
S=$E2E_WORK/status-during.json
lpctl_json "$S" status || fail "lpctl -o json status exits 0" "rc $?"
save "$S"
check_json "status while held: transitioning" .state transitioning "$S"
check_json "status names the transition" '"\(.transition.patch) \(.transition.patching)"' "lpdemo_v3 true" "$S"
I=$E2E_WORK/info-during.json
lpctl_json "$I" info lpdemo_v3 || fail "lpctl -o json info lpdemo_v3 exits 0" "rc $?"
save "$I"
check_json "info while held: enabling, in transition" '"\(.patch.state) \(.patch.transition)"' "enabling true" "$I"
check_json "object is the module lpdemo_sleeper" '[.patch.objects[].name] | join(" ")' lpdemo_sleeper "$I"

release_sleeper
wait_transition lpdemo_v3
wait_event "$W" transition-completed lpdemo_v3 15
watch_stop
save "$W"
log "events: $(events "$W")"
check "the parked reader finished in the original function" "lpdemo_sleeper: original wait finished" \
  "$(cat "$E2E_WORK/parked.out")"
check "new reads use the patched function" "lpdemo_v3: patched wait returns at once" "$(cat /proc/lpdemo_sleep)"

check_event_order "watch shows the transition" "$W" lpdemo_v3 transition-started transition-completed
check "transition-completed ends in enabled" enabled \
  "$(jq -rs '[.[] | select(.kind == "transition-completed" and .patch == "lpdemo_v3")][0].toState' "$W")"
check "every event has schemaVersion 1" true "$(jq -s 'length > 0 and all(.schemaVersion == 1)' "$W")"
check "sequence numbers increase" true "$(jq -s 'map(.sequence) | . == (sort | unique)' "$W")"
lpctl_json "$S" status || fail "lpctl -o json status exits 0" "rc $?"
check_json "status after the transition: idle" '"\(.state) \(.transition)"' "idle null" "$S"

wait_for 15 _pid_gone "$COUNTED" || fail "watch --count 2 exits by itself" "still running"
wait "$COUNTED"
check "watch --count 2 exit status" 0 "$?"
check "watch --count 2 printed 2 events" 2 "$(grep -c . "$E2E_WORK/watch2.jsonl")"
