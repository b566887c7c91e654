#!/bin/sh
# sysboot.sh: the systemd guest's side of a "# boot: systemd" scenario (lib/sysboot.sh). Started by the image's
# livepatchagent-e2e.service once multi-user.target is reached, with the e2e share mounted on /mnt/e2e.
#
# /mnt/pkg (read-only, per run) holds livepatchd.deb, the signed test module and certificate, the patch packages
# livepatch-lpdemo-KV_1.{1,2}-1_amd64.deb (lpdemo_v1 and its cumulative upgrade lpdemo_v2), and e2e.env:
# E2E_SCENARIO (path under /mnt/e2e), E2E_BOOT (1 or 2) and E2E_AFTER (reboot or poweroff). The scenario runs
# through guest/run-scenario.sh as in the initramfs guest; its checks go to /results, and so does this boot's
# journal. Then the guest reboots or powers off as the host asked; QEMU's -no-reboot ends QEMU either way.
after=poweroff
if ! { mkdir -p /mnt/pkg /results &&
  mount -t 9p -o trans=virtio,version=9p2000.L,ro pkg /mnt/pkg &&
  mount -t 9p -o trans=virtio,version=9p2000.L results /results; }; then
  echo "### sysboot: cannot mount the pkg and results shares"
  systemctl poweroff
  exit 1
fi
# shellcheck source=/dev/null # written by the host for each boot (lib/sysboot.sh)
. /mnt/pkg/e2e.env
export E2E_BOOT E2E_LP_DIR=/mnt/pkg
if [ "${E2E_FLEET:-}" = 1 ]; then
  # A fleet host (lib/fleet.sh): the run's ssh key for root, QEMU's user network with a static address, sshd; then
  # it stays up: the host runs the scenario over ssh and powers the guest off.
  install -d -m 0700 /root/.ssh && install -m 0600 /mnt/pkg/authorized_keys /root/.ssh/authorized_keys
  mkdir -p /etc/systemd/network
  printf '[Match]\nName=en*\n\n[Network]\nAddress=10.0.2.15/24\nGateway=10.0.2.2\nDNS=10.0.2.3\n' > /etc/systemd/network/10-e2e-fleet.network
  systemctl restart systemd-networkd.service
  systemctl start ssh.service
  echo "### sysboot: fleet host ready: $(systemctl is-active systemd-networkd.service ssh.service | tr '\n' ' ')"
  exit 0
fi
echo "### sysboot: boot $E2E_BOOT, $E2E_SCENARIO, systemd $(systemctl --version | head -n1 | cut -d' ' -f2) as PID 1 ($(cat /proc/1/comm))"
sh /mnt/e2e/guest/run-scenario.sh "/mnt/e2e/$E2E_SCENARIO"
rc=$?
journalctl -b --no-pager -o short-monotonic > "/results/journal.boot$E2E_BOOT.txt" 2>&1
echo "### e2e-init: E2E-EXIT rc=$rc"
case "$E2E_AFTER" in reboot) after=reboot ;; esac
sync
umount /results
systemctl "$after"
