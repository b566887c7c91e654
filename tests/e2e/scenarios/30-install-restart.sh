# shellcheck shell=sh
# Installed patches come back after a daemon restart, each re-verified in full. lpdemo_v1 is installed and loaded
# at once (--now); lpdemo_v3 (its object, the lpdemo_sleeper module, need not be loaded) is only installed. The
# store holds <name>.ko + <name>.json per patch under /var/lib/livepatchd/patches/$(uname -r). Then the daemon is
# stopped and lpdemo_v1 removed from the kernel behind its back; at the next start, start-up apply loads both:
# the kernel has both enabled, status shows each as applied ("re-verified"), the journal has an "apply"
# operation with the module's sha256 for each, and the crash-loop marker is gone. A third start finds both
# already loaded and loads nothing.

KV=$(uname -r)
STORE=$LPD_STATE_DIR/patches/$KV
V1=$LP_DIR/lpdemo_v1.signed.ko
V3=$LP_DIR/lpdemo_v3.signed.ko
start_daemon_trusted || exit 1

I1=$E2E_WORK/install-v1.json
check_lpctl "lpctl install --now lpdemo_v1.signed.ko exits 0" 0 "$I1" install "$V1" --now --timeout 45 || exit 1
save "$I1"
check_json "install v1: loaded, enabled" '"\(.installed.name) \(.installed.loaded) \(.load.patch.state)"' "lpdemo_v1 true enabled" "$I1"
I3=$E2E_WORK/install-v3.json
check_lpctl "lpctl install lpdemo_v3.signed.ko exits 0" 0 "$I3" install "$V3" || exit 1
check_json "install v3: not loaded" '"\(.installed.name) \(.installed.loaded)"' "lpdemo_v3 false" "$I3"
check "kernel: lpdemo_v3 not loaded by install" absent "$([ -e "$LP_SYSFS/lpdemo_v3" ] && echo present || echo absent)"

# The store on disk: module and manifest, the manifest's sha256 is the file's.
check "store files" "lpdemo_v1.json lpdemo_v1.ko lpdemo_v3.json lpdemo_v3.ko" "$(cd "$STORE" && echo *)"
check_json "manifest v1 sha256 = sha256sum of the stored .ko" .sha256 "$(sha256sum "$STORE/lpdemo_v1.ko" | cut -d' ' -f1)" "$STORE/lpdemo_v1.json"
check_json "manifest v1 sha256 = sha256sum of the uploaded file" .sha256 "$(sha256sum "$V1" | cut -d' ' -f1)" "$STORE/lpdemo_v1.json"
check_json "manifest v1: installed by uid 0, signer" '"\(.installedByUid) \(.signer)"' "0 $TRUSTED_CN" "$STORE/lpdemo_v1.json"
L=$E2E_WORK/installed.json
check_lpctl "lpctl list --installed exits 0" 0 "$L" list --installed
check_json "list --installed: v1 loaded, v3 not" '[.patches[] | "\(.name)=\(.loaded)"] | join(" ")' "lpdemo_v1=true lpdemo_v3=false" "$L"

# Daemon down; the kernel loses lpdemo_v1.
stop_daemon
echo 0 > "$LP_SYSFS/lpdemo_v1/enabled"
wait_patch_gone lpdemo_v1 || exit 1
wait_for 10 rmmod lpdemo_v1 || fail "rmmod lpdemo_v1"
check "kernel: no live patch before the restart" "" "$(ls "$LP_SYSFS")"

start_daemon_trusted || exit 1
S=$E2E_WORK/status.json
_apply_done() { lpctl_json "$S" status && [ "$(json .startupApply.state "$S")" = done ]; }
wait_for 90 _apply_done || fail "start-up apply done within 90 s" "$(json .startupApply "$S")"
save "$S"
check_json "status: both applied" '[.startupApply.results[] | "\(.name)=\(.outcome)"] | join(" ")' "lpdemo_v1=applied lpdemo_v3=applied" "$S"
check_json "status: each re-verified" '[.startupApply.results[] | select(.message | contains("re-verified"))] | length' 2 "$S"
check "kernel: lpdemo_v1 enabled, not in transition" "1 0" "$(cat "$LP_SYSFS/lpdemo_v1/enabled" "$LP_SYSFS/lpdemo_v1/transition" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
check "kernel: lpdemo_v3 enabled" 1 "$(cat "$LP_SYSFS/lpdemo_v3/enabled" 2>&1)"
check "/proc/cmdline patched again" "lpdemo_v1: /proc/cmdline is live patched" "$(cat /proc/cmdline)"
# The log names the start-up apply's load of lpdemo_v1, then the sha256 of the module it checked and loaded.
op=$(sed -n 's/.*operation #\([0-9]*\) load lpdemo_v1 started by livepatchd .*/\1/p' "$LPD_LOG" | tail -n 1)
check "log: the start-up apply's load of lpdemo_v1 has an operation id" yes "$([ -n "$op" ] && echo yes || echo no)"
check_contains "log: the start-up apply's load of lpdemo_v1 checked the module with its sha256" \
  "operation #$op load lpdemo_v1: module checked (sha256 $(sha256sum "$V1" | cut -d' ' -f1))" "$(cat "$LPD_LOG")"
check_contains "log: the start-up apply's load of lpdemo_v3" "load lpdemo_v3 started by livepatchd" "$(cat "$LPD_LOG")"
H=$E2E_WORK/history.json
check_lpctl "lpctl history exits 0" 0 "$H" history
save "$H"
check_json "history: one start-up apply, completed, by livepatchd" \
  '[.operations[] | select(.operation == "startup-apply") | "\(.outcome)/\(.callerComm)"] | join(" ")' "completed/livepatchd" "$H"
check_json "history: its loads of both, completed, by livepatchd" \
  '[.operations[] | select(.operation == "load" and .callerComm == "livepatchd") | "\(.patch)=\(.outcome)"] | sort | join(" ")' "lpdemo_v1=completed lpdemo_v3=completed" "$H"
check_json "history: the start-up load of lpdemo_v1 has its sha256" \
  '[.operations[] | select(.operation == "load" and .patch == "lpdemo_v1" and .callerComm == "livepatchd")][0].sha256' "$(sha256sum "$V1" | cut -d' ' -f1)" "$H"
check "crash-loop marker cleared" absent "$([ -e "$LPD_STATE_DIR/apply-in-progress.json" ] && echo present || echo absent)"
check_lpctl "lpctl list --installed exits 0" 0 "$L" list --installed
check_json "list --installed: both loaded" '[.patches[] | "\(.name)=\(.loaded)"] | join(" ")' "lpdemo_v1=true lpdemo_v3=true" "$L"

# A third start: both are loaded already, nothing is loaded again.
stop_daemon
start_daemon_trusted || exit 1
wait_for 60 _apply_done || fail "start-up apply done within 60 s (third start)"
check_json "third start: both already loaded" '[.startupApply.results[] | "\(.name)=\(.outcome)"] | join(" ")' \
  "lpdemo_v1=already-loaded lpdemo_v3=already-loaded" "$S"
