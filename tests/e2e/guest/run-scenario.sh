#!/bin/sh
# run-scenario.sh SCRIPT: run one e2e scenario inside the guest (called by /init) and record its result.
#
# The scenario runs in its own shell with guest/lib.sh loaded, so an "exit" or "abort" in it ends only the
# scenario. Afterwards this script writes $E2E_OUT/result (rc, passed, failed) and copies the evidence (dmesg,
# scratch files) to the results share. Exit status: 0 only if the scenario exited 0, at least one check ran,
# and no check failed.
E2E_OUT=/results
# Without the results share (a broken 9p setup) keep going on tmpfs: the console still carries the checks.
touch "$E2E_OUT/checks" 2> /dev/null || {
  E2E_OUT=/tmp/results
  mkdir -p "$E2E_OUT"
}
export E2E_OUT
scenario=$1

echo "### e2e: scenario $(basename "$scenario") starts at uptime $(cut -d' ' -f1 /proc/uptime) s"
sh -c '. /mnt/e2e/guest/lib.sh && . "$1"' "$(basename "$scenario")" "$scenario"
rc=$?

# Anything the scenario left running (daemon, watch) would otherwise keep files open on the share. Under systemd
# (guest/sysboot.sh) the daemon is the service's, and systemd stops it at the reboot or power-off.
procs="livepatchd lpctl"
[ "$(cat /proc/1/comm)" = systemd ] && procs=lpctl
# shellcheck disable=SC2086 # one name per word
for pid in $(pidof $procs 2> /dev/null); do kill -TERM "$pid" 2> /dev/null; done

passed=$(grep -c '^PASS: ' "$E2E_OUT/checks" 2> /dev/null)
failed=$(grep -c '^FAIL: ' "$E2E_OUT/checks" 2> /dev/null)
passed=${passed:-0}
failed=${failed:-0}
status=0
if [ "$rc" != 0 ]; then
  status=1
  echo "scenario exited with status $rc" >> "$E2E_OUT/failures"
elif [ "$failed" != 0 ]; then
  status=1
elif [ "$passed" = 0 ]; then
  status=1
  echo "scenario ran no checks" >> "$E2E_OUT/failures"
fi

dmesg > "$E2E_OUT/dmesg.txt" 2> /dev/null
[ -d /tmp/e2e ] && cp -r /tmp/e2e "$E2E_OUT/work" 2> /dev/null
printf 'rc=%s\npassed=%s\nfailed=%s\nstatus=%s\n' "$rc" "$passed" "$failed" "$status" > "$E2E_OUT/result"
echo "### e2e: scenario $(basename "$scenario") ended: exit $rc, $passed checks passed, $failed failed"
exit "$status"
