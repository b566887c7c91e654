# shellcheck shell=sh
# "lpctl watch" streams the transition of a patch loaded with insmod: transition-started, then
# transition-completed, as JSON lines with increasing sequence numbers. "--count N" ends the stream by itself.

start_daemon || exit 1
W=$E2E_WORK/watch.jsonl
watch_start "$W"
lpctl --socket "$LPD_SOCKET" -o json watch --count 2 --timeout 60 > "$E2E_WORK/watch2.jsonl" 2>&1 &
COUNTED=$!

insmod_lp lpdemo_v1.ko || exit 1
wait_transition lpdemo_v1
wait_event "$W" transition-completed lpdemo_v1 15
watch_stop
save "$W"
log "events: $(events "$W")"

check_event_order "watch shows the transition" "$W" lpdemo_v1 transition-started transition-completed
check "transition-completed ends in enabled" enabled \
  "$(jq -rs '[.[] | select(.kind == "transition-completed" and .patch == "lpdemo_v1")][0].toState' "$W")"
check "every event has schemaVersion 1" true "$(jq -s 'length > 0 and all(.schemaVersion == 1)' "$W")"
check "sequence numbers increase" true "$(jq -s 'map(.sequence) | . == (sort | unique)' "$W")"

wait_for 15 _pid_gone "$COUNTED" || fail "watch --count 2 exits by itself" "still running"
wait "$COUNTED"
check "watch --count 2 exit status" 0 "$?"
check "watch --count 2 printed 2 events" 2 "$(grep -c . "$E2E_WORK/watch2.jsonl")"
