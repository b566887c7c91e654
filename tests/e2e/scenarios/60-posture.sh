# shellcheck shell=sh
# timeout: 240
# The CVE posture on the real kernel. An OSV advisory file for the guest's real kernel package (Debian:12, linux,
# the version in /proc/sys/kernel/version) says CVE-2099-0001 is fixed in 6.1.999-1: it is open, and lpctl check is
# critical. lpctl load of lpdemo_v1, whose signed .modinfo declares CVE-2099-0001, makes it fixed-live (source
# signed) in lpctl cves, status and check; lpctl unload opens it again; lpctl install (not loaded) shows it as
# fixed-installed. lpdemo_v2 carries the fixes of 6.1.999-1 (livepatch_fixes_version): loaded, lpctl uname -v
# names that effective level in place of the running one. A hostile feed file is skipped with a problem naming it.

V1=$LP_DIR/lpdemo_v1.signed.ko
V2=$LP_DIR/lpdemo_v2.signed.ko
RUNV=$(sed -n 's/.* Debian \([^ ]*\) .*/\1/p' /proc/sys/kernel/version)
check "the guest kernel names its Debian package version" yes "$([ -n "$RUNV" ] && echo yes || echo no)"
[ -s /etc/os-release ] || printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n' > /etc/os-release
ADV=$E2E_WORK/advisories
mkdir -p "$ADV"
cat > "$ADV/debian-kernel.json" << JSON
[{"schema_version": "1.6.0", "id": "CVE-2099-0001", "modified": "2026-11-01T00:00:00Z",
  "summary": "linux: a made-up flaw for the e2e test", "database_specific": {"urgency": "high"},
  "affected": [{"package": {"ecosystem": "Debian:12", "name": "linux"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "6.1.999-1"}]}]}]},
 {"schema_version": "1.6.0", "id": "CVE-2099-0900", "modified": "2026-11-01T00:00:00Z",
  "summary": "linux: fixed long before this kernel",
  "affected": [{"package": {"ecosystem": "Debian:12", "name": "linux"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "5.10.1-1"}]}]}]}]
JSON
printf '{"id": "broken", "modified": [' > "$ADV/broken.json"
start_daemon_trusted "Posture:AdvisoriesDir=$ADV" Apply:AtStartup=false || exit 1

C=$E2E_WORK/cves.json
_state() { lpctl_json "$C" cves && [ "$(jq -r '.advisories[] | select(.id == "CVE-2099-0001") | .state' "$C")" = "$1" ]; }
wait_for 20 _state open || fail "cves: CVE-2099-0001 open" "$(cat "$C")" || exit 1
save "$C"
check_json "cves: the guest's kernel package" '"\(.ecosystem) \(.package) \(.runningVersion)"' "Debian:12 linux $RUNV" "$C"
check_json "cves: reboot into 6.1.999-1 closes it" .rebootTarget 6.1.999-1 "$C"
check_json "cves: severity high" '.advisories[] | select(.id == "CVE-2099-0001") | .severity' high "$C"
check_json "cves: the old advisory is not affected (counted)" .notAffected 1 "$C"
check_json "cves: the broken file is skipped, named" '.problems[0].path' "$ADV/broken.json" "$C"
check_lpctl "lpctl check exits 2 with an open high CVE" 2 "$E2E_WORK/check-open.json" check
check_json "check: vulnerable" .state vulnerable "$E2E_WORK/check-open.json"
check_contains "status: one posture line" "0 fixed live, 1 open (1 high): reboot into >= 6.1.999-1 closes them" \
  "$(lpctl --socket "$LPD_SOCKET" status 2>&1)"

# ---- loaded: fixed live, from the module's signed metadata
check_lpctl "lpctl load lpdemo_v1 exits 0" 0 "$E2E_WORK/load.json" load "$V1" || exit 1
wait_for 20 _state fixed-live || fail "cves: CVE-2099-0001 fixed-live" "$(cat "$C")"
save "$C"
check_json "cves: fixed by lpdemo_v1, signed" \
  '.advisories[] | select(.id == "CVE-2099-0001") | "\(.patches | join(",")) \(.metadataSource)"' "lpdemo_v1 signed" "$C"
check_lpctl "lpctl check exits 0 once the CVE is fixed live" 0 "$E2E_WORK/check-fixed.json" check
check_contains "status: 1 fixed live, 0 open" "CVEs:" "$(lpctl --socket "$LPD_SOCKET" status 2>&1 | grep '^CVEs:.*1 fixed live, 0 open')"
check "uname -v without a carried level: the real one" "$(cat /proc/sys/kernel/version)" "$(lpctl --socket "$LPD_SOCKET" uname -v 2>&1)"

# ---- unloaded: open again; installed, not loaded: fixed-installed
check_lpctl "lpctl unload lpdemo_v1 exits 0" 0 "$E2E_WORK/unload.json" unload lpdemo_v1
wait_for 20 _state open || fail "cves: open again after unload" "$(cat "$C")"
check_lpctl "lpctl install lpdemo_v1 (not loaded) exits 0" 0 "$E2E_WORK/install.json" install "$V1"
wait_for 20 _state fixed-installed || fail "cves: fixed-installed while installed, not loaded" "$(cat "$C")"
check_contains "cves table: fixed-installed by lpdemo_v1" "fixed-installed" "$(lpctl --socket "$LPD_SOCKET" cves --state fixed-installed 2>&1)"

# ---- a cumulative patch that carries the fixes of 6.1.999-1: the effective level
check_lpctl "lpctl load lpdemo_v2 exits 0" 0 "$E2E_WORK/load2.json" load "$V2" || exit 1
wait_for 20 _state fixed-live || fail "cves: fixed-live by lpdemo_v2" "$(cat "$C")"
save "$C"
check_json "cves: effective level 6.1.999-1" .effectiveVersion 6.1.999-1 "$C"
check_contains "uname -v names the effective level" "Debian 6.1.999-1 " "$(lpctl --socket "$LPD_SOCKET" uname -v 2>&1)"
check "uname -r is the real release" "$(uname -r)" "$(lpctl --socket "$LPD_SOCKET" uname -r 2>&1)"
