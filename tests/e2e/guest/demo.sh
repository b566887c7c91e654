# shellcheck shell=sh
# Guest side of tests/e2e/demo.sh: what a newcomer should see. The daemon watches a real kernel; a signed livepatch
# is verified and loaded through the daemon (an operation, with its result); lpctl shows it, /proc/cmdline is really
# patched, and the audit journal has who did it. Then it is unloaded again.
# It also records checks, so a demo that shows something wrong ends with a failure.

banner() { printf '\n======== %s\n' "$*"; }
show() { # show CMD...: print the command as typed, then its output
  printf '\n$ %s\n' "$*"
  "$@"
}

banner "guest kernel $(uname -r): start livepatchd"
start_daemon_trusted || exit 1

banner "before: no live patch"
show lpctl status
show lpctl list
show cat /proc/cmdline

banner "verify a signed live patch that replaces /proc/cmdline's handler, then load it"
show lpctl verify "$LP_DIR/lpdemo_v1.signed.ko"
show lpctl load "$LP_DIR/lpdemo_v1.signed.ko"
wait_lpctl_state lpdemo_v1 enabled 15

banner "after: the daemon sees the patch"
show lpctl status
show lpctl list
show lpctl info lpdemo_v1
show cat /proc/cmdline
check "/proc/cmdline is patched" "lpdemo_v1: /proc/cmdline is live patched" "$(cat /proc/cmdline)" > /dev/null
lpctl -o json list > "$E2E_WORK/list.json"
check_json "lpctl lists lpdemo_v1 enabled" '.patches[] | select(.name == "lpdemo_v1") | .state' enabled \
  "$E2E_WORK/list.json" > /dev/null

banner "every change is an operation, and the audit journal says who did it"
show lpctl operations
show lpctl history

banner "take it out again"
show lpctl unload lpdemo_v1
show cat /proc/cmdline
check "/proc/cmdline is the original again" original "$(grep -q 'live patched' /proc/cmdline && echo patched || echo original)" > /dev/null
