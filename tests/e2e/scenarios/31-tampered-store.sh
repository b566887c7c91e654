# shellcheck shell=sh
# A module changed in the store after install is refused at start-up while the other installed patch still loads.
# lpdemo_v1 and lpdemo_v3 are installed (not loaded); with the daemon stopped, one byte of the stored
# lpdemo_v1.ko is changed. At start, lpdemo_v1 fails with hash-mismatch (its manifest's sha256 no longer matches)
# and the kernel never sees it; lpdemo_v3 loads. Then the manifest is "fixed" to the tampered file's hash, as an
# attacker with write access to the store could: lpctl apply now refuses it with signature-invalid.

KV=$(uname -r)
STORE=$LPD_STATE_DIR/patches/$KV
start_daemon_trusted || exit 1
check_lpctl "install lpdemo_v1" 0 "$E2E_WORK/i1.json" install "$LP_DIR/lpdemo_v1.signed.ko" || exit 1
check_lpctl "install lpdemo_v3" 0 "$E2E_WORK/i3.json" install "$LP_DIR/lpdemo_v3.signed.ko" || exit 1
stop_daemon

# Change the stored module: the test bed's lpdemo_v1.tampered.ko is the same signed file with one .modinfo byte
# changed after signing.
cp "$LP_DIR/lpdemo_v1.tampered.ko" "$STORE/lpdemo_v1.ko" || abort "tamper with the stored lpdemo_v1.ko"
check "the stored module changed" changed \
  "$([ "$(sha256sum "$STORE/lpdemo_v1.ko" | cut -d' ' -f1)" = "$(json .sha256 "$STORE/lpdemo_v1.json")" ] && echo same || echo changed)"

start_daemon_trusted || exit 1
S=$E2E_WORK/status.json
_apply_done() { lpctl_json "$S" status && [ "$(json .startupApply.state "$S")" = done ]; }
wait_for 90 _apply_done || fail "start-up apply done within 90 s" "$(json .startupApply "$S")"
save "$S"
check_json "lpdemo_v1 refused: hash-mismatch" '.startupApply.results[] | select(.name == "lpdemo_v1") | "\(.outcome) \(.reason)"' "failed hash-mismatch" "$S"
check_json "lpdemo_v3 applied" '.startupApply.results[] | select(.name == "lpdemo_v3") | .outcome' applied "$S"
check "kernel: lpdemo_v1 never loaded" absent "$([ -e /sys/module/lpdemo_v1 ] && echo present || echo absent)"
check "kernel: lpdemo_v3 enabled" 1 "$(cat "$LP_SYSFS/lpdemo_v3/enabled" 2>&1)"
check_contains "log: the refusal names the reason" "installed patch lpdemo_v1 not applied (hash-mismatch)" "$(cat "$LPD_LOG")"

# The manifest rewritten to the tampered bytes: the signature still catches it.
tampered_sha=$(sha256sum "$STORE/lpdemo_v1.ko" | cut -d' ' -f1)
jq --arg s "$tampered_sha" '.sha256 = $s' "$STORE/lpdemo_v1.json" > "$E2E_WORK/m.json" && cp "$E2E_WORK/m.json" "$STORE/lpdemo_v1.json"
A=$E2E_WORK/apply.json
check_lpctl "lpctl apply with a failing patch exits 1" 1 "$A" apply
save "$A"
check_json "apply: lpdemo_v1 signature-invalid, lpdemo_v3 already loaded" '[.results[] | "\(.name)=\(.outcome)/\(.reason)"] | join(" ")' \
  "lpdemo_v1=failed/signature-invalid lpdemo_v3=already-loaded/null" "$A"
check_contains "stderr names the failed patch" "lpdemo_v1 (signature-invalid)" "$(cat "$A.err")"
check "kernel: lpdemo_v1 still never loaded" absent "$([ -e /sys/module/lpdemo_v1 ] && echo present || echo absent)"
