# shellcheck shell=sh
# The kernel health guard on the real kernel. lpdemo_warn replaces version_proc_show (/proc/version) and, once its
# "warn" parameter is set, hits WARN_ON_ONCE(1) in its replacement; lpdemo_noisy is an ordinary module that WARNs
# when its "warn" parameter is written.
# 1. Health:OnKernelWarning=Revert. lpdemo_warn is installed and loaded (its health window opens). A WARN from
#    lpdemo_noisy is reported, not attributed, and does not touch the patch. Reading /proc/version with the trigger
#    set makes the daemon revert lpdemo_warn within seconds: it leaves the kernel; status, health, history and
#    quarantine list say why (a kernel warning attributed by module to lpdemo_warn).
# 2. The daemon restarts: start-up apply skips lpdemo_warn as quarantined; the kernel does not get it back.
# 3. lpctl quarantine release (journalled); a second release is not-quarantined.
# 4. Health:OnKernelWarning=Alert: start-up apply loads the released lpdemo_warn again; the same WARN is reported as an alert and
#    the patch stays.

WARN_KO=$LP_DIR/lpdemo_warn.signed.ko
NOISY_KO=$LP_DIR/lpdemo_noisy.signed.ko
start_daemon_trusted Health:OnKernelWarning=Revert || exit 1
W=$E2E_WORK/watch.jsonl
watch_start "$W" || exit 1
HL=$E2E_WORK/health.json
_watching() { lpctl_json "$HL" health && [ "$(json .reader "$HL")" = watching ]; }
wait_for 10 _watching || fail "health: the guard reads the kernel log within 10 s" "$(json '"\(.reader) \(.readerProblem)"' "$HL")"
check_json "health: the guard reads /dev/kmsg with the revert policy" '"\(.reader) \(.kmsgPath) \(.onKernelWarning) \(.onKernelBug)"' \
  "watching /dev/kmsg revert revert" "$HL"

I=$E2E_WORK/install.json
check_lpctl "lpctl install --now lpdemo_warn.signed.ko exits 0" 0 "$I" install "$WARN_KO" --now --timeout 45 || exit 1
check "kernel: lpdemo_warn enabled" 1 "$(cat "$LP_SYSFS/lpdemo_warn/enabled" 2>&1)"
_window_open() { lpctl_json "$HL" health && [ "$(json '[.windows[].patch] | join(" ")' "$HL")" = lpdemo_warn ]; }
wait_for 10 _window_open || fail "health: a window is open for lpdemo_warn" "$(json .windows "$HL")"

# ---- an unrelated module's WARN
insmod "$NOISY_KO" || fail "insmod lpdemo_noisy"
echo 1 > /sys/module/lpdemo_noisy/parameters/warn
_reports() { lpctl_json "$HL" health && [ "$(json '.reports | length' "$HL")" -ge "$1" ]; }
wait_for 15 _reports 1 || fail "health: the noisy module's warning is reported within 15 s" "$(json .reports "$HL")"
save "$HL"
check_json "health: lpdemo_noisy's warning, not attributed, nothing done" \
  '.reports[0] | "\(.kind) \(.patch) \(.attribution) \(.action)"' "warning null none none" "$HL"
check_contains "health: its headline names lpdemo_noisy" "lpdemo_noisy" "$(json '.reports[0].headline' "$HL")"
check "kernel: lpdemo_warn still enabled after the unrelated WARN" 1 "$(cat "$LP_SYSFS/lpdemo_warn/enabled" 2>&1)"
check_json "health: nothing quarantined" '.quarantined | length' 0 "$HL"

# ---- the patch's own WARN: reverted and quarantined
t0=$(uptime_ms)
echo 1 > /sys/module/lpdemo_warn/parameters/warn
cat /proc/version > /dev/null
wait_patch_gone lpdemo_warn 30 || exit 1
log "lpdemo_warn reverted $(($(uptime_ms) - t0)) ms after the WARN"
wait_for 10 test ! -e /sys/module/lpdemo_warn
check "kernel: module lpdemo_warn unloaded" absent "$(presence /sys/module/lpdemo_warn)"
check_contains "dmesg: the kernel printed the WARNING in lpdemo_warn" "lpdemo_warn_version_show" "$(dmesg | grep WARNING)"
wait_event "$W" kernel-report lpdemo_warn 10
wait_event "$W" patch-quarantined lpdemo_warn 10
S=$E2E_WORK/status.json
check_lpctl "lpctl status exits 0" 0 "$S" status
save "$S"
check_json "status: lpdemo_warn quarantined" '[.health.quarantined[].name] | join(" ")' lpdemo_warn "$S"
check_json "status: the last report attributed by module, reverted" \
  '[.health.reports[] | select(.patch == "lpdemo_warn")][0] | "\(.kind) \(.attribution) \(.action)"' "warning module revert" "$S"
check_contains "status: the report's evidence names the frame in lpdemo_warn" "[lpdemo_warn]" \
  "$(json '[.health.reports[] | select(.patch == "lpdemo_warn")][0].evidence' "$S")"
check_contains "status table: the Kernel health line names the quarantine" "quarantined: lpdemo_warn" "$(lpctl --socket "$LPD_SOCKET" status)"
Q=$E2E_WORK/quarantine.json
check_lpctl "lpctl quarantine list exits 0" 0 "$Q" quarantine list
save "$Q"
check_json "quarantine list: why" '.quarantined[0] | "\(.name) \(.kind) \(.attribution) \(.by)"' \
  "lpdemo_warn warning module livepatchd (Health:OnKernelWarning=revert)" "$Q"
check_contains "quarantine list: the WARNING line" "WARNING:" "$(json '.quarantined[0].headline' "$Q")"
check_json "quarantine list: the module's sha256" '.quarantined[0].sha256' "$(sha256sum "$WARN_KO" | cut -d' ' -f1)" "$Q"
H=$E2E_WORK/history.json
_quarantine_done() { lpctl_json "$H" history && [ "$(json '[.operations[] | select(.operation == "quarantine")][0].outcome' "$H")" = completed ]; }
wait_for 20 _quarantine_done || fail "history: the quarantine operation completed" "$(json '[.operations[] | select(.operation == "quarantine")]' "$H")"
save "$H"
check_contains "history: the quarantine says why" "kernel warning attributed by module" \
  "$(json '[.operations[] | select(.operation == "quarantine")][0].message' "$H")"
check_json "history: the unload by the health policy" \
  '[.operations[] | select(.operation == "unload" and .patch == "lpdemo_warn")][0] | "\(.outcome) \(.caller)"' \
  "completed livepatchd (Health:OnKernelWarning=revert)" "$H"

# ---- a restart does not bring it back
stop_daemon
start_daemon_trusted Health:OnKernelWarning=Revert || exit 1
_apply_done() { lpctl_json "$S" status && [ "$(json .startupApply.state "$S")" = done ]; }
wait_for 60 _apply_done || fail "start-up apply done within 60 s" "$(json .startupApply "$S")"
save "$S"
check_json "start-up apply: lpdemo_warn quarantined" '[.startupApply.results[] | "\(.name)=\(.outcome)"] | join(" ")' "lpdemo_warn=quarantined" "$S"
check_contains "start-up apply: says why" "quarantined at" "$(json '.startupApply.results[0].message' "$S")"
check "kernel: lpdemo_warn not re-applied" absent "$(presence "$LP_SYSFS/lpdemo_warn")"
A=$E2E_WORK/apply.json
check_lpctl "lpctl apply exits 0 and skips it" 0 "$A" apply
check_json "lpctl apply: lpdemo_warn quarantined" '[.results[] | "\(.name)=\(.outcome)"] | join(" ")' "lpdemo_warn=quarantined" "$A"

# ---- release
R=$E2E_WORK/release.json
check_lpctl "lpctl quarantine release lpdemo_warn exits 0" 0 "$R" quarantine release lpdemo_warn
check_lpctl "a second release exits 1" 1 "$R" quarantine release lpdemo_warn
check_contains "a second release: not-quarantined" "not-quarantined" "$(cat "$R")"
check_lpctl "lpctl history exits 0" 0 "$H" history
check_json "history: the release, completed, by root" '[.operations[] | select(.operation == "release")][0] | "\(.patch) \(.outcome) \(.callerUid)"' \
  "lpdemo_warn completed 0" "$H"

# ---- alert: the patch stays
stop_daemon
watch_stop
start_daemon_trusted Health:OnKernelWarning=Alert || exit 1
W2=$E2E_WORK/watch-alert.jsonl
watch_start "$W2" || exit 1
# Released, it is an installed patch like any other again: start-up apply loads it.
wait_for 60 _apply_done || fail "start-up apply done within 60 s (alert)" "$(json .startupApply "$S")"
check_json "start-up apply: the released lpdemo_warn applied" '[.startupApply.results[] | "\(.name)=\(.outcome)"] | join(" ")' "lpdemo_warn=applied" "$S"
wait_for 10 _window_open || fail "health: a window is open for lpdemo_warn again"
echo 1 > /sys/module/lpdemo_warn/parameters/warn
cat /proc/version > /dev/null
wait_event "$W2" kernel-report lpdemo_warn 15
check_lpctl "lpctl health exits 0" 0 "$HL" health
save "$HL"
check_json "health: alert, attributed by module" '[.reports[] | select(.patch == "lpdemo_warn")][0] | "\(.kind) \(.attribution) \(.action)"' \
  "warning module alert" "$HL"
check_contains "the event says it is an alert and the patch stays" "stays loaded" "$(event_json "$W2" kernel-report lpdemo_warn | jq -r .message)"
usleep 2000000
check "kernel: lpdemo_warn still enabled under alert" 1 "$(cat "$LP_SYSFS/lpdemo_warn/enabled" 2>&1)"
check_json "health: nothing quarantined under alert" '.quarantined | length' 0 "$HL"
check_no_events "no quarantine under alert" "$W2" lpdemo_warn patch-quarantined patch-removed
