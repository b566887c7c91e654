# shellcheck shell=sh
# Guest side of tests/e2e/demo.sh: what a newcomer should see. The daemon watches a real kernel; a livepatch is
# loaded (with insmod, behind the daemon's back); lpctl shows it, and /proc/cmdline is really patched.
# It also records checks, so a demo that shows something wrong ends with a failure.

banner() { printf '\n======== %s\n' "$*"; }
show() { # show CMD...: print the command as typed, then its output
  printf '\n$ %s\n' "$*"
  "$@"
}

banner "guest kernel $(uname -r): start livepatchd"
start_daemon || exit 1

banner "before: no live patch"
show lpctl status
show lpctl list
show cat /proc/cmdline

banner "apply a live patch that replaces /proc/cmdline's handler"
show insmod /lp/lpdemo_v1.ko
wait_transition lpdemo_v1 > /dev/null
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
