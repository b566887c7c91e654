# shellcheck shell=sh
# A boot with module.sig_enforce=1: livepatchd trusts the test key, the kernel does not have it in its
# keyrings. "lpctl verify" passes but warns about the kernel's policy; "lpctl load" passes our checks, and the
# kernel's EKEYREJECTED comes back as kernel-rejected-signature (exit 1); status reports sigEnforce true. The
# kernel's own answer is checked too: a plain insmod of the same file fails, and nothing gets loaded.
# cmdline: module.sig_enforce=1

M=$LP_DIR/lpdemo_v1.signed.ko
check "kernel: sig_enforce is on" Y "$(cat /sys/module/module/parameters/sig_enforce 2>&1)"
start_daemon_trusted || exit 1

S=$E2E_WORK/status.json
lpctl_json "$S" status || fail "lpctl -o json status exits 0" "rc $?"
save "$S"
check_json "status: sigEnforce" .kernel.sigEnforce true "$S"
check_json "status: no lockdown" .kernel.lockdown none "$S"

V=$E2E_WORK/verify.json
check_lpctl "lpctl -o json verify lpdemo_v1.signed.ko exits 0 (we trust the signer)" 0 "$V" verify "$M"
save "$V"
check_json "verify: ok" '"\(.ok) \(.reason)"' "true null" "$V"
check_json "verify: signature trusted" .module.signature.trusted true "$V"
check_json "verify: kernel policy sigEnforce" .kernelPolicy.sigEnforce true "$V"
check_json "verify: a kernel policy warning" '.kernelPolicy.warnings | length > 0' true "$V"
check_contains "the warning is about the kernel's keyrings" "keyrings" "$(json '.kernelPolicy.warnings | join(" ")' "$V")"
check_contains "the kernel-policy check says sig_enforce" "sig_enforce" \
  "$(json '.checks[] | select(.name == "kernel-policy") | .detail' "$V")"

L=$E2E_WORK/load.json
check_lpctl "lpctl -o json load lpdemo_v1.signed.ko exits 1 (the kernel refuses)" 1 "$L" load "$M" --timeout 30
save "$L.err"
check_contains "with kernel-rejected-signature" "(kernel-rejected-signature)" "$(cat "$L.err")"
check_contains "the message says the kernel's keyrings lack the key" "keyrings" "$(cat "$L.err")"
check_json "stdout is one document with error.reason kernel-rejected-signature" .error.reason kernel-rejected-signature "$L"
check_rc "lpctl load (table) exits 1 too" 1 lpctl load "$M"
check "kernel: no module lpdemo_v1" absent "$([ -e /sys/module/lpdemo_v1 ] && echo present || echo absent)"
check "kernel: no livepatch registered" "" "$(ls "$LP_SYSFS")"

# The kernel's own verdict on the same bytes: insmod is refused too (EKEYREJECTED, "Key was rejected").
insmod_rc=0
insmod "$M" > "$E2E_WORK/insmod.out" 2>&1 || insmod_rc=$?
check "plain insmod of lpdemo_v1.signed.ko is refused by the kernel" refused "$([ "$insmod_rc" = 0 ] && echo loaded || echo refused)"
log "insmod said: $(cat "$E2E_WORK/insmod.out")"

LS=$E2E_WORK/list.json
lpctl_json "$LS" list || fail "lpctl -o json list exits 0" "rc $?"
check_json "lpctl list: empty" '"\(.patches | length) \(.leftovers | length)"' "0 0" "$LS"
