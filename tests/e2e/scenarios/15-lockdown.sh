# shellcheck shell=sh
# A boot with lockdown=integrity: the kernel refuses every module it cannot verify with its own keys (EPERM).
# "lpctl verify" passes with a kernel policy warning; "lpctl load" reports kernel-refused (exit 1) with a
# message that names lockdown; status reports lockdown "integrity", as securityfs does.
# cmdline: lockdown=integrity

M=$LP_DIR/lpdemo_v1.signed.ko
check "kernel: lockdown is integrity" "none [integrity] confidentiality" "$(cat /sys/kernel/security/lockdown 2>&1)"
start_daemon_trusted || exit 1

S=$E2E_WORK/status.json
lpctl_json "$S" status || fail "lpctl -o json status exits 0" "rc $?"
save "$S"
check_json "status: lockdown" .kernel.lockdown integrity "$S"
check_json "status: sigEnforce (the parameter is off)" .kernel.sigEnforce "$([ "$(cat /sys/module/module/parameters/sig_enforce)" = Y ] && echo true || echo false)" "$S"

V=$E2E_WORK/verify.json
check_lpctl "lpctl -o json verify lpdemo_v1.signed.ko exits 0 (we trust the signer)" 0 "$V" verify "$M"
save "$V"
check_json "verify: ok" '"\(.ok) \(.reason)"' "true null" "$V"
check_json "verify: kernel policy lockdown" .kernelPolicy.lockdown integrity "$V"
check_json "verify: a kernel policy warning" '.kernelPolicy.warnings | length > 0' true "$V"
check_contains "the kernel-policy check names lockdown" "lockdown" \
  "$(json '.checks[] | select(.name == "kernel-policy") | .detail' "$V")"

L=$E2E_WORK/load.json
check_lpctl "lpctl -o json load lpdemo_v1.signed.ko exits 1 (the kernel refuses)" 1 "$L" load "$M" --timeout 30
save "$L.err"
check_contains "with kernel-refused" "(kernel-refused)" "$(cat "$L.err")"
check_contains "the message names lockdown" "lockdown" "$(cat "$L.err")"
check_contains "and its mode" "integrity" "$(cat "$L.err")"
check_json "stdout is one document with error.reason kernel-refused" .error.reason kernel-refused "$L"
check "kernel: no module lpdemo_v1" absent "$([ -e /sys/module/lpdemo_v1 ] && echo present || echo absent)"
# The daemon's finit_module reached the kernel and lockdown refused it (the kernel logs each refusal).
check "dmesg: lockdown refused livepatchd's load" 1 \
  "$(dmesg | grep -c 'Lockdown: .*unsigned module loading is restricted')"

# The kernel's own verdict on the same bytes: insmod is refused too (EPERM), and the kernel logs lockdown.
insmod_rc=0
insmod "$M" > "$E2E_WORK/insmod.out" 2>&1 || insmod_rc=$?
check "plain insmod of lpdemo_v1.signed.ko is refused by the kernel" refused "$([ "$insmod_rc" = 0 ] && echo loaded || echo refused)"
check "dmesg: lockdown refused insmod too" yes \
  "$([ "$(dmesg | grep -c 'Lockdown: .*unsigned module loading is restricted')" -gt 1 ] && echo yes)"

LS=$E2E_WORK/list.json
lpctl_json "$LS" list || fail "lpctl -o json list exits 0" "rc $?"
check_json "lpctl list: empty" '"\(.patches | length) \(.leftovers | length)"' "0 0" "$LS"
