# shellcheck shell=sh
# After a successful atomic replace, the replaced module, still loaded with refcnt 0, is removed automatically
# (Apply:CleanupLeftovers, on by default) and the cleanup is logged and published as an event. Then, with two
# cumulative patches installed (lpdemo_v2, version 2, and lpdemo_v4, version 4), a restart applies only the newest.

start_daemon_trusted || exit 1
check_lpctl "lpctl load lpdemo_v1" 0 "$E2E_WORK/load-v1.json" load "$LP_DIR/lpdemo_v1.signed.ko" --timeout 45 || exit 1
W=$E2E_WORK/watch.jsonl
watch_start "$W"
L=$E2E_WORK/load-v2.json
check_lpctl "lpctl load lpdemo_v2 (replace) exits 0" 0 "$L" load "$LP_DIR/lpdemo_v2.signed.ko" --timeout 45 || exit 1
save "$L"
check_json "load v2: enabled, removed the replaced lpdemo_v1" '"\(.patch.state) \(.removedLeftovers | join(","))"' "enabled lpdemo_v1" "$L"
check "kernel: /sys/module/lpdemo_v1 gone" absent "$([ -e /sys/module/lpdemo_v1 ] && echo present || echo absent)"
check "kernel: only lpdemo_v2" lpdemo_v2 "$(cd "$LP_SYSFS" && echo *)"
wait_event "$W" leftover-removed lpdemo_v1 10
watch_stop
check_contains "log: the cleanup" "removed lpdemo_v1: lpdemo_v2 replaced it atomically" "$(cat "$LPD_LOG")"
LS=$E2E_WORK/list.json
lpctl_json "$LS" list
check_json "list: lpdemo_v2, no leftovers" '"\([.patches[].name] | join(" ")) \(.leftovers | length)"' "lpdemo_v2 0" "$LS"
check_lpctl "unload lpdemo_v2" 0 "$E2E_WORK/unload-v2.json" unload lpdemo_v2 --timeout 45

# Only the newest cumulative patch comes back.
echo '{"cumulativeVersion": 2, "replace": true}' > "$E2E_WORK/meta-v2.json"
echo '{"cumulativeVersion": 4, "replace": true, "cveIds": ["CVE-2026-0004"]}' > "$E2E_WORK/meta-v4.json"
check_lpctl "install lpdemo_v4 (version 4)" 0 "$E2E_WORK/i4.json" install "$LP_DIR/lpdemo_v4.signed.ko" --meta "$E2E_WORK/meta-v4.json"
check_lpctl "install lpdemo_v2 (version 2, installed later)" 0 "$E2E_WORK/i2.json" install "$LP_DIR/lpdemo_v2.signed.ko" --meta "$E2E_WORK/meta-v2.json"
stop_daemon
start_daemon_trusted || exit 1
S=$E2E_WORK/status.json
_apply_done() { lpctl_json "$S" status && [ "$(json .startupApply.state "$S")" = done ]; }
wait_for 90 _apply_done || fail "start-up apply done within 90 s" "$(json .startupApply "$S")"
save "$S"
check_json "only lpdemo_v4 applied, lpdemo_v2 superseded" '[.startupApply.results[] | "\(.name)=\(.outcome)"] | join(" ")' \
  "lpdemo_v4=applied lpdemo_v2=superseded" "$S"
check "kernel: only lpdemo_v4" lpdemo_v4 "$(cd "$LP_SYSFS" && echo *)"
check "/proc/cmdline shows the v4 banner" "lpdemo_v4: /proc/cmdline replaced by the newer cumulative patch" "$(cat /proc/cmdline)"
