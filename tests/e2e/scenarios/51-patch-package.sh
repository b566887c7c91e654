# shellcheck shell=sh
# Issue 19: patch packages (packaging/patch/build.sh, docs/fleet.md) in a real Debian with systemd as PID 1. The
# host builds livepatch-lpdemo-KV 1.1-1 (the signed lpdemo_v1) and 1.2-1 (the cumulative lpdemo_v2) before the
# boot (lib/sysboot.sh).
# Boot 1: livepatchd.deb, the test certificate, then dpkg -i of the patch package: livepatchd's file trigger runs
# lpctl apply at once (kernel, lpctl list); lpctl list --installed shows the origin "vendor (PACKAGE)"; lpctl
# uninstall refuses it and names the package. Then the VM reboots.
# Boot 2: start-up apply loads the vendor patch again; dpkg -i of 1.2-1 upgrades the package and the trigger's apply
# replaces lpdemo_v1 by lpdemo_v2 atomically; dpkg -r leaves lpdemo_v2 loaded and says so; with livepatchd
# stopped, dpkg -i still succeeds and says the patch is applied when the daemon starts.
# boot: systemd
# timeout: 540

KV=$(uname -r)
PKG=livepatch-lpdemo-$KV
STORE=/usr/lib/livepatchd/patches/$KV
DEB1=$LP_DIR/${PKG}_1.1-1_amd64.deb
DEB2=$LP_DIR/${PKG}_1.2-1_amd64.deb
S=$E2E_WORK/status.json
V1_PATCHED="lpdemo_v1: /proc/cmdline is live patched"
V2_PATCHED="lpdemo_v2: /proc/cmdline replaced atomically"

_active() { [ "$(systemctl is-active livepatchd.service)" = active ]; }
_apply_done() { lpctl_json "$S" status && [ "$(json .startupApply.state "$S")" = "done" ]; }
_enabled() { [ "$(cat "$LP_SYSFS/$1/enabled" 2> /dev/null)" = 1 ]; }
# check_installed_table DESC NEEDLE: `lpctl list --installed` (the table, whose ORIGIN column names the package).
check_installed_table() {
  lpctl list --installed > "$E2E_WORK/installed.txt" 2>&1
  check_contains "$1" "$2" "$(cat "$E2E_WORK/installed.txt")"
}

case "$E2E_BOOT" in
1)
  check "PID 1 is systemd" systemd "$(cat /proc/1/comm)"
  check_rc "dpkg -i livepatchd.deb" 0 dpkg -i "$LP_DIR/livepatchd.deb" || exit 1
  wait_for 60 _active || abort "livepatchd is active within 60 s" "$(systemctl is-active livepatchd.service)"
  install -m 0644 "$LP_DIR/trusted.pem" /etc/livepatchd/trusted.d/e2e-trusted.pem
  check "dpkg: livepatchd declares its file trigger" "interest-noawait /usr/lib/livepatchd/patches" \
    "$(grep -v '^#' /var/lib/dpkg/info/livepatchd.triggers 2>&1)"

  check_rc "dpkg -i $PKG 1.1-1" 0 dpkg -i "$DEB1" || exit 1
  cp "$E2E_WORK/last.out" "$E2E_WORK/dpkg-install.out"
  check_contains "dpkg ran livepatchd's trigger" "Processing triggers for livepatchd" "$(cat "$E2E_WORK/dpkg-install.out")"
  check "dpkg: $PKG installed" "install ok installed 1.1-1" "$(dpkg-query -W -f='${Status} ${Version}' "$PKG")"
  check "the module is in the vendor store" present "$(presence "$STORE/lpdemo_v1.ko")"
  check "the sidecar names the package" "{\"package\": \"$PKG\", \"version\": \"1.1-1\"}" "$(cat "$STORE/lpdemo_v1.vendor.json")"
  wait_for 60 _enabled lpdemo_v1 || fail "the trigger's lpctl apply enabled lpdemo_v1 within 60 s" "$(ls "$LP_SYSFS" 2>&1)"
  check "kernel: lpdemo_v1 enabled" 1 "$(cat "$LP_SYSFS/lpdemo_v1/enabled" 2>&1)"
  check "/proc/cmdline patched" "$V1_PATCHED" "$(cat /proc/cmdline)"
  check_lpctl "lpctl list" 0 "$E2E_WORK/list.json" list
  check_json "list: lpdemo_v1 enabled" '[.patches[] | "\(.name)=\(.state)"] | join(" ")' lpdemo_v1=enabled "$E2E_WORK/list.json"
  check_installed_table "lpctl list --installed: origin vendor with the package" "vendor ($PKG)"
  check_contains "lpctl list --installed: lpdemo_v1" lpdemo_v1 "$(cat "$E2E_WORK/installed.txt")"
  check_rc "lpctl uninstall of a vendor patch is refused" 1 lpctl uninstall lpdemo_v1
  check_contains "the refusal names the package" "$PKG" "$(cat "$E2E_WORK/last.out")"
  check "the vendor store is untouched" present "$(presence "$STORE/lpdemo_v1.ko")"
  exit 0
  ;;
2)
  wait_for 90 _active || abort "livepatchd is active after the reboot within 90 s" "$(systemctl is-active livepatchd.service)"
  wait_for 90 _apply_done || fail "start-up apply done within 90 s" "$(json .startupApply "$S")"
  check_json "status: start-up apply applied the vendor patch" \
    '[.startupApply.results[] | "\(.name)=\(.outcome)"] | join(" ")' "lpdemo_v1=applied" "$S"
  check "kernel: lpdemo_v1 enabled after the reboot" 1 "$(cat "$LP_SYSFS/lpdemo_v1/enabled" 2>&1)"
  check "/proc/cmdline patched again" "$V1_PATCHED" "$(cat /proc/cmdline)"

  # The upgrade to the cumulative lpdemo_v2: same package, new module; the trigger's apply replaces lpdemo_v1.
  check_rc "dpkg -i $PKG 1.2-1 (upgrade)" 0 dpkg -i "$DEB2" || exit 1
  cp "$E2E_WORK/last.out" "$E2E_WORK/dpkg-upgrade.out"
  check "dpkg: $PKG upgraded" "install ok installed 1.2-1" "$(dpkg-query -W -f='${Status} ${Version}' "$PKG")"
  check "upgrade: lpdemo_v1.ko left the vendor store" absent "$(presence "$STORE/lpdemo_v1.ko")"
  check "upgrade: lpdemo_v2.ko in the vendor store" present "$(presence "$STORE/lpdemo_v2.ko")"
  wait_for 60 _enabled lpdemo_v2 || fail "the trigger's apply enabled lpdemo_v2 within 60 s" "$(ls "$LP_SYSFS" 2>&1)"
  wait_transition lpdemo_v2
  check "/proc/cmdline: lpdemo_v2 replaced lpdemo_v1" "$V2_PATCHED" "$(cat /proc/cmdline)"
  wait_patch_gone lpdemo_v1 60
  check "upgrade: the old message did not say 'stays loaded'" "" "$(grep 'stays loaded' "$E2E_WORK/dpkg-upgrade.out")"
  check_installed_table "lpctl list --installed: lpdemo_v2 from the package" "vendor ($PKG)"
  check_contains "lpctl list --installed: lpdemo_v2" lpdemo_v2 "$(cat "$E2E_WORK/installed.txt")"

  # Removal leaves the patch loaded, and says so.
  check_rc "dpkg -r $PKG" 0 dpkg -r "$PKG"
  check_contains "dpkg -r says the patch stays loaded" \
    "livepatch: lpdemo_v2 stays loaded in the running kernel until 'lpctl unload lpdemo_v2' or a reboot" \
    "$(cat "$E2E_WORK/last.out")"
  check "after dpkg -r: lpdemo_v2 still enabled" 1 "$(cat "$LP_SYSFS/lpdemo_v2/enabled" 2>&1)"
  check "after dpkg -r: lpdemo_v2.ko left the vendor store" absent "$(presence "$STORE/lpdemo_v2.ko")"
  check "after dpkg -r: its sidecar too" absent "$(presence "$STORE/lpdemo_v2.vendor.json")"

  # The daemon down: the transaction still succeeds, and says when the patch is applied.
  systemctl stop livepatchd.socket livepatchd.service
  check "livepatchd stopped" inactive "$(systemctl is-active livepatchd.service)"
  check_rc "dpkg -i $PKG 1.1-1 with livepatchd stopped" 0 dpkg -i "$DEB1"
  check_contains "dpkg says the patch is applied when livepatchd starts" \
    "livepatchd is not running; the patch is applied when it starts" "$(cat "$E2E_WORK/last.out")"
  exit 0
  ;;
*)
  abort "E2E_BOOT is 1 or 2" "got '$E2E_BOOT'"
  ;;
esac
