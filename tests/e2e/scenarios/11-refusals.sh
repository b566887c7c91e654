# shellcheck shell=sh disable=SC3043
# livepatchd refuses five bad modules before the kernel sees them, each with its own reason, in "lpctl verify"
# (the failing check) and in "lpctl load" (exit 1, the reason on stderr, nothing on stdout): unsigned
# (unsigned-module), signed by the untrusted key (untrusted-signer), altered after signing (signature-invalid),
# an ordinary module signed by the trusted key (not-a-livepatch), and a trusted-signed livepatch built for
# another release (kernel-mismatch; the kernel itself would load it). Proof that the kernel never saw them: no
# /sys/module entry, no "lpdemo" line in dmesg (the kernel logs the first out-of-tree/unsigned module and every
# livepatch it enables), and the taint mask unchanged (any of them would have tainted O and E).

start_daemon_trusted || exit 1
taint_before=$(cat /proc/sys/kernel/tainted)
dmesg_before=$(dmesg | grep -c lpdemo)

# refused FILE MODULE_NAME REASON FAILED_CHECK: verify and load FILE; both must refuse it with REASON.
refused() {
  local file="$1" name="$2" reason="$3" failed_check="$4" V L
  V=$E2E_WORK/verify-$file.json
  L=$E2E_WORK/load-$file.json
  check_lpctl "verify $file exits 1" 1 "$V" verify "$LP_DIR/$file"
  check_json "verify $file: not ok, reason $reason" '"\(.ok) \(.reason)"' "false $reason" "$V"
  check_json "verify $file: only the $failed_check check failed, with $reason" \
    '[.checks[] | select(.result == "failed") | "\(.name)=\(.reason)"] | join(" ")' "$failed_check=$reason" "$V"
  check_json "verify $file: module name" .module.name "$name" "$V"
  check_contains "verify $file: stderr carries ($reason)" "($reason)" "$(cat "$V.err")"
  check_lpctl "load $file exits 1" 1 "$L" load "$LP_DIR/$file" --timeout 30
  check_contains "load $file: stderr carries ($reason)" "($reason)" "$(cat "$L.err")"
  check_json "load $file: stdout is one document with error.reason $reason" .error.reason "$reason" "$L"
  check "load $file: kernel has no module $name" absent "$([ -e "/sys/module/$name" ] && echo present || echo absent)"
}

refused lpdemo_v1.ko lpdemo_v1 unsigned-module signature-present
refused lpdemo_v1.untrusted.ko lpdemo_v1 untrusted-signer signature
check_json "untrusted: the signer is named anyway" .module.signature.signer \
  "LivePatchAgent e2e untrusted test signing key" "$E2E_WORK/verify-lpdemo_v1.untrusted.ko.json"
refused lpdemo_v1.tampered.ko lpdemo_v1 signature-invalid signature
refused lpdemo_notlp.signed.ko lpdemo_notlp not-a-livepatch livepatch
refused lpdemo_v1.badvermagic.signed.ko lpdemo_v1 kernel-mismatch kernel-release
check_contains "kernel-mismatch names the module's release" \
  "$(sed -n 's/^altered-release: //p' "$LP_DIR/manifest.txt")" "$(cat "$E2E_WORK/verify-lpdemo_v1.badvermagic.signed.ko.json.err")"

# The table output refuses the same way (exit 1, "lpctl: " message on stderr, no reason code needed).
check_rc "lpctl load (table) of the unsigned module exits 1" 1 lpctl load "$LP_DIR/lpdemo_v1.ko"
check_contains "and says it is not signed" "not signed" "$(cat "$E2E_WORK/last.out")"

# Control: the same daemon accepts the trusted-signed module (so the refusals were not a blanket failure).
check_lpctl "verify lpdemo_v1.signed.ko (control) exits 0" 0 "$E2E_WORK/verify-control.json" verify "$LP_DIR/lpdemo_v1.signed.ko"

# The kernel never saw any of them.
LS=$E2E_WORK/list.json
lpctl_json "$LS" list || fail "lpctl -o json list exits 0" "rc $?"
save "$LS"
check_json "lpctl list: no patches, no leftovers" '"\(.patches | length) \(.leftovers | length)"' "0 0" "$LS"
for m in lpdemo_v1 lpdemo_notlp; do
  check "kernel: /sys/module/$m absent" absent "$([ -e "/sys/module/$m" ] && echo present || echo absent)"
done
check "kernel: no livepatch registered" "" "$(ls "$LP_SYSFS")"
check "kernel: no new lpdemo line in dmesg" "$dmesg_before" "$(dmesg | grep -c lpdemo)"
check "kernel: no module signature message in dmesg" 0 "$(dmesg | grep -c 'module verification failed')"
check "kernel: taint unchanged (no O/E taint from a load)" "$taint_before" "$(cat /proc/sys/kernel/tainted)"
S=$E2E_WORK/status.json
lpctl_json "$S" status || fail "lpctl -o json status exits 0" "rc $?"
check_json "status: taint unchanged" .kernel.taintMask "$taint_before" "$S"
check_json "status: no patches" '"\(.patchCount) \(.leftoverCount // 0)"' "0 0" "$S"
