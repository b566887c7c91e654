# shellcheck shell=sh
# Compressed modules: the zstd- and the xz-compressed signed lpdemo_v2 load (decompressed in user space, the
# signature checked inside the decompressed image, the decompressed bytes handed to the kernel), and the gzip one
# verifies and installs decompressed. The kernel's module is the plain signed lpdemo_v2.

PLAIN_SHA=$(sha256sum "$LP_DIR/lpdemo_v2.signed.ko" | cut -d' ' -f1)
start_daemon_trusted || exit 1

for fmt in zst xz; do
  F=$LP_DIR/lpdemo_v2.signed.ko.$fmt
  L=$E2E_WORK/load-$fmt.json
  check_lpctl "lpctl load lpdemo_v2.signed.ko.$fmt exits 0" 0 "$L" load "$F" --timeout 45 || continue
  save "$L"
  case $fmt in zst) name=zstd ;; *) name=$fmt ;; esac
  check_json "load $fmt: enabled, decompressed from $name" '"\(.patch.state) \(.verification.module.compression)"' "enabled $name" "$L"
  check_json "load $fmt: the sha256 is the plain module's" .verification.module.sha256 "$PLAIN_SHA" "$L"
  check_json "load $fmt: the signature verified inside" .verification.module.signature.trusted true "$L"
  check "kernel $fmt: lpdemo_v2 enabled" 1 "$(cat "$LP_SYSFS/lpdemo_v2/enabled" 2>&1)"
  check "/proc/cmdline shows the v2 banner ($fmt)" "lpdemo_v2: /proc/cmdline replaced atomically" "$(cat /proc/cmdline)"
  check_lpctl "lpctl unload lpdemo_v2 ($fmt)" 0 "$E2E_WORK/unload-$fmt.json" unload lpdemo_v2 --timeout 45
done

V=$E2E_WORK/verify-gz.json
check_lpctl "lpctl verify lpdemo_v2.signed.ko.gz exits 0" 0 "$V" verify "$LP_DIR/lpdemo_v2.signed.ko.gz"
check_json "verify gz: gzip, the plain module's sha256" '"\(.module.compression) \(.module.sha256)"' "gzip $PLAIN_SHA" "$V"
lpctl verify "$LP_DIR/lpdemo_v2.signed.ko.xz" > "$E2E_WORK/verify-xz.txt" 2>&1
check_contains "verify xz (table) says it was compressed" "xz-compressed" "$(cat "$E2E_WORK/verify-xz.txt")"

I=$E2E_WORK/install-gz.json
check_lpctl "lpctl install lpdemo_v2.signed.ko.gz exits 0" 0 "$I" install "$LP_DIR/lpdemo_v2.signed.ko.gz" --replace
check_json "install gz: stored decompressed" '"\(.installed.compression) \(.installed.sha256)"' "gzip $PLAIN_SHA" "$I"
check "the store holds the plain module" "$PLAIN_SHA" "$(sha256sum "$LPD_STATE_DIR/patches/$(uname -r)/lpdemo_v2.ko" | cut -d' ' -f1)"

# A truncated compressed module is refused before the kernel sees anything.
head -c 1000 "$LP_DIR/lpdemo_v2.signed.ko.xz" > "$E2E_WORK/truncated.ko.xz"
check_lpctl "a truncated .ko.xz is refused" 1 "$E2E_WORK/load-trunc.json" load "$E2E_WORK/truncated.ko.xz"
check_contains "with decompression-failed" "(decompression-failed)" "$(cat "$E2E_WORK/load-trunc.json.err")"
