# shellcheck shell=sh
# Issue 9: the livepatchd .deb in a real Debian bookworm that boots with systemd as PID 1 (lib/sysboot.sh).
# Boot 1: dpkg -i; the postinst has enabled and started livepatchd (is-active proves Type=notify readiness),
# `systemctl status` shows our STATUS= line, lpctl and busctl work on the real sockets and the real system bus
# with the packaged policy, and `lpctl install --now` applies the signed lpdemo_v1. Then the VM reboots.
# Boot 2: the service starts at boot, start-up apply has loaded lpdemo_v1 again (kernel, lpctl, journal), the
# journal entries are plain text with the right priorities; then dpkg -r stops the service and keeps the state,
# and dpkg -P removes the state.
# Metrics (docs/metrics.md): the packaged node_exporter serves livepatchd.prom, written through the unit's
# ReadWritePaths, at http://127.0.0.1:9100/metrics in the guest; lpctl metrics prints the same families.
# boot: systemd
# timeout: 420

DEST=org.livepatchd.Agent1
OBJ=/org/livepatchd/Agent1
V1=$LP_DIR/lpdemo_v1.signed.ko
S=$E2E_WORK/status.json
PATCHED="lpdemo_v1: /proc/cmdline is live patched"

_active() { [ "$(systemctl is-active livepatchd.service)" = active ]; }
_status_text() { systemctl show -p StatusText --value livepatchd.service; }
_apply_done() { lpctl_json "$S" status && [ "$(json .startupApply.state "$S")" = "done" ]; }
_enabled_in_kernel() { [ "$(cat "$LP_SYSFS/$1/enabled" 2> /dev/null)" = 1 ]; }
# journal_priority MESSAGE_PART: the PRIORITY of the first livepatchd journal entry of this boot that contains it.
journal_priority() {
  journalctl -b -u livepatchd.service -o json --no-pager |
    jq -r --arg m "$1" 'select(.MESSAGE | type == "string" and contains($m)) | .PRIORITY' | head -n1
}
# node_metrics: node_exporter's page (the guest may have no curl: python3's urllib, else bash's /dev/tcp).
node_metrics() {
  if command -v python3 > /dev/null 2>&1; then
    python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9100/metrics", timeout=30).read().decode())' 2> /dev/null
  else
    bash -c 'exec 3<> /dev/tcp/127.0.0.1/9100 && printf "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3 && cat <&3' 2> /dev/null
  fi
}
# _node_serves TEXT: node_exporter's page contains TEXT; the page is kept (one fetch: TCG makes each one slow).
_node_serves() {
  node_metrics > "$E2E_WORK/node-metrics.tmp" && grep -qF "$1" "$E2E_WORK/node-metrics.tmp" &&
    mv "$E2E_WORK/node-metrics.tmp" "$E2E_WORK/node-metrics.boot$E2E_BOOT.txt"
}
check_metrics() { # check_metrics ENABLED_PATCHES
  check "the rules are installed" present "$(presence /usr/share/livepatchd/prometheus/livepatchd.rules.yml)"
  check "the dashboard is installed" present "$(presence /usr/share/livepatchd/grafana/livepatchd-fleet.json)"
  check "node_exporter's textfile directory exists" present "$(presence /var/lib/prometheus/node-exporter)"
  wait_for 30 sh -c "grep -qF 'livepatchd_patches{state=\"enabled\"} $1' /var/lib/prometheus/node-exporter/livepatchd.prom" ||
    fail "livepatchd.prom shows $1 enabled patch(es) within 30 s" "$(cat /var/lib/prometheus/node-exporter/livepatchd.prom 2>&1 | head -n 20)"
  check "livepatchd.prom is 0644 (node_exporter reads it as prometheus)" 644 "$(stat -c %a /var/lib/prometheus/node-exporter/livepatchd.prom)"
  check "no temporary metrics file is left" "" "$(ls -A /var/lib/prometheus/node-exporter | grep -v '^livepatchd.prom$' | grep livepatchd)"
  wait_for 60 _node_serves 'livepatchd_patches{state="enabled"} '"$1" ||
    fail "node_exporter serves livepatchd's metrics at 127.0.0.1:9100 within 60 s" \
      "$(systemctl is-active prometheus-node-exporter.service 2>&1); $(grep -E 'livepatchd_|textfile' "$E2E_WORK/node-metrics.tmp" | head -n 5)"
  check_contains "node_exporter: livepatchd_info with the running kernel" "kernel_release=\"$(uname -r)\"" \
    "$(grep '^livepatchd_info' "$E2E_WORK/node-metrics.boot$E2E_BOOT.txt")"
  check "node_exporter: no textfile scrape error" "node_textfile_scrape_error 0" \
    "$(grep '^node_textfile_scrape_error' "$E2E_WORK/node-metrics.boot$E2E_BOOT.txt")"
  check_contains "node_exporter: the K taint flag is set" 'livepatchd_kernel_taint{bit="15",flag="K"} 1' \
    "$(cat "$E2E_WORK/node-metrics.boot$E2E_BOOT.txt")"
  as_user nobody lpctl metrics > "$E2E_WORK/lpctl-metrics.txt" 2>&1
  check_contains "lpctl metrics as nobody: the same exposition" 'livepatchd_patches{state="enabled"} '"$1" "$(cat "$E2E_WORK/lpctl-metrics.txt")"
}
check_service_up() {
  wait_for 60 _active || fail "systemctl is-active livepatchd is active within 60 s" "$(systemctl is-active livepatchd.service)"
  check "systemctl is-active livepatchd (READY=1 received: Type=notify)" active "$(systemctl is-active livepatchd.service)"
  check "systemctl is-active livepatchd.socket" active "$(systemctl is-active livepatchd.socket)"
  check "systemctl is-enabled livepatchd" enabled "$(systemctl is-enabled livepatchd.service)"
  systemctl status --no-pager livepatchd.service > "$E2E_WORK/systemctl-status.boot$E2E_BOOT.txt" 2>&1
  check_contains "systemctl status shows our STATUS= line" "Status: \"$1\"" "$(cat "$E2E_WORK/systemctl-status.boot$E2E_BOOT.txt")"
  check "StatusText is our line" "$1" "$(_status_text)"
}
check_bus() {
  busctl introspect $DEST $OBJ > "$E2E_WORK/introspect.txt" 2>&1
  check_contains "busctl introspect: the State property" ".State " "$(cat "$E2E_WORK/introspect.txt")"
  check_contains "busctl introspect: the PatchStateChanged signal" ".PatchStateChanged " "$(cat "$E2E_WORK/introspect.txt")"
  check "busctl get-property State" 's "idle"' "$(busctl get-property $DEST $OBJ $DEST State 2>&1)"
  check "busctl get-property PatchCount" "u $1" "$(busctl get-property $DEST $OBJ $DEST PatchCount 2>&1)"
  check "busctl get-property State as nobody (the policy lets anyone read)" 's "idle"' \
    "$(as_user nobody busctl get-property $DEST $OBJ $DEST State 2>&1)"
}

case "$E2E_BOOT" in
1)
  check "PID 1 is systemd" systemd "$(cat /proc/1/comm)"
  check "livepatchd is not installed yet" absent "$(presence /usr/libexec/livepatchd/livepatchd)"
  check_rc "dpkg -i livepatchd.deb" 0 dpkg -i "$LP_DIR/livepatchd.deb" || exit 1
  save "$E2E_WORK/last.out"
  check "dpkg: livepatchd installed" "install ok installed" "$(dpkg-query -W -f='${Status}' livepatchd)"
  check "the postinst created the livepatch-admin group" livepatch-admin "$(getent group livepatch-admin | cut -d: -f1)"
  check "/var/lib/livepatchd is 0700 root" "700 root" "$(stat -c '%a %U' /var/lib/livepatchd)"
  check "/etc/livepatchd/trusted.d is there and empty" "" "$(ls -A /etc/livepatchd/trusted.d 2>&1)"
  check_service_up "0 patches enabled, idle"
  check_rc "livepatchd config show accepts the packaged example config" 0 /usr/libexec/livepatchd/livepatchd config show
  check_json "config show: defaults" .Access.AdminGroup livepatch-admin "$E2E_WORK/last.out"
  check_rc "man lpctl is installed" 0 test -f /usr/share/man/man1/lpctl.1.gz

  check_lpctl "lpctl status on the packaged socket" 0 "$S" status
  check_json "status: idle" .state idle "$S"
  check_json "status: the running kernel" .kernel.release "$(uname -r)" "$S"
  check_rc "lpctl status as nobody (table)" 0 as_user nobody lpctl status
  check_bus 0
  # The health guard reads /dev/kmsg inside the unit's private /dev (BindReadOnlyPaths=, DeviceAllow=, CAP_SYSLOG).
  check_lpctl "lpctl health" 0 "$E2E_WORK/health.json" health
  check_json "health: the packaged unit's guard reads the kernel log" .reader watching "$E2E_WORK/health.json"
  check_json "health: the kernel log it reads" .kmsgPath /dev/kmsg "$E2E_WORK/health.json"

  install -m 0644 "$LP_DIR/trusted.pem" /etc/livepatchd/trusted.d/e2e-trusted.pem
  check_lpctl "lpctl install --now lpdemo_v1.signed.ko" 0 "$E2E_WORK/install.json" install --now "$V1" || exit 1
  check "kernel: lpdemo_v1 enabled" 1 "$(cat "$LP_SYSFS/lpdemo_v1/enabled" 2>&1)"
  check "/proc/cmdline patched" "$PATCHED" "$(cat /proc/cmdline)"
  check_lpctl "lpctl list --installed" 0 "$E2E_WORK/installed.json" list --installed
  check_json "installed: lpdemo_v1, loaded" '[.patches[] | "\(.name)=\(.loaded)"] | join(" ")' lpdemo_v1=true "$E2E_WORK/installed.json"
  wait_for 10 sh -c "[ \"\$(systemctl show -p StatusText --value livepatchd.service)\" = '1 patch enabled, idle' ]"
  check "StatusText after the install" "1 patch enabled, idle" "$(_status_text)"
  check_metrics 1
  exit 0
  ;;
2)
  check "/proc/cmdline patched again after the reboot" "$PATCHED" "$(cat /proc/cmdline)"
  check_service_up "1 patch enabled, idle"
  check "kernel: lpdemo_v1 enabled after the reboot" 1 "$(cat "$LP_SYSFS/lpdemo_v1/enabled" 2>&1)"
  wait_for 60 _apply_done || fail "start-up apply done within 60 s" "$(json .startupApply "$S")"
  check_json "status: start-up apply applied lpdemo_v1" '[.startupApply.results[] | "\(.name)=\(.outcome)"] | join(" ")' \
    "lpdemo_v1=applied" "$S"
  check_bus 1
  check_metrics 1
  check_contains "node_exporter: start-up apply done after the reboot" 'livepatchd_startup_apply_phase{phase="done"} 1' \
    "$(cat "$E2E_WORK/node-metrics.boot$E2E_BOOT.txt")"
  check "the previous boot's journal is there (persistent journal)" yes \
    "$(journalctl -b -1 -u livepatchd.service --no-pager -q | grep -q . && echo yes || echo no)"

  # The journal: what start-up apply did, as plain text, at the right priority.
  journalctl -b -u livepatchd.service --no-pager -o cat > "$E2E_WORK/journal.txt" 2>&1
  J=$(cat "$E2E_WORK/journal.txt")
  check_contains "journal: start-up apply started a load of lpdemo_v1" "load lpdemo_v1 started by livepatchd" "$J"
  check_contains "journal: start-up apply checked lpdemo_v1 (with its sha256)" \
    "load lpdemo_v1: module checked (sha256 $(sha256sum "$V1" | cut -d' ' -f1))" "$J"
  check_contains "journal: systemd readiness" "systemd: ready (" "$J"
  check "journal: no raw <N> priority prefixes or console log categories in messages" "" \
    "$(grep -E '^<[0-7]>|^(info|warn|fail|crit|dbug|trce): ' "$E2E_WORK/journal.txt" | head -n 3)"
  check "journal: 'serving gRPC' is informational (6)" 6 "$(journal_priority "serving gRPC on")"
  check "journal: start-up apply is informational (6)" 6 "$(journal_priority "load lpdemo_v1 started by livepatchd")"
  check_lpctl "lpctl info of an unknown patch fails" 1 "$E2E_WORK/info-none.json" info lpdemo_nosuch
  wait_for 10 sh -c 'journalctl -b -u livepatchd.service -o cat --no-pager | grep -q "patch-not-found"'
  check "journal: the refused request is a warning (4)" 4 "$(journal_priority "patch-not-found")"

  # Removal stops the service but keeps the state; purge removes it. The patch stays in the kernel either way.
  check_rc "dpkg -r livepatchd" 0 dpkg -r livepatchd
  check "after dpkg -r: the service is stopped" inactive "$(systemctl is-active livepatchd.service)"
  check "after dpkg -r: /var/lib/livepatchd is kept" present "$(presence /var/lib/livepatchd/patches)"
  check "after dpkg -r: the config file is kept (conffile)" present "$(presence /etc/livepatchd/livepatchd.json)"
  check "after dpkg -r: lpdemo_v1 stays in the kernel" 1 "$(cat "$LP_SYSFS/lpdemo_v1/enabled" 2>&1)"
  check_rc "dpkg -P livepatchd" 0 dpkg -P livepatchd
  check "after dpkg -P: /var/lib/livepatchd is gone" absent "$(presence /var/lib/livepatchd)"
  check "after dpkg -P: the config file is gone" absent "$(presence /etc/livepatchd/livepatchd.json)"
  exit 0
  ;;
*)
  abort "E2E_BOOT is 1 or 2" "got '$E2E_BOOT'"
  ;;
esac
