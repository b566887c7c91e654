# shellcheck shell=sh disable=SC3043
# (SC3043: busybox ash has 'local'. Like dash, it splits unquoted words in 'local a=$1': always quote.)
# Guest-side helper library for e2e scenarios (busybox ash). guest/run-scenario.sh sources it before the
# scenario, so a scenario only calls these functions.
#
# Results: every check appends one line to $E2E_OUT/checks ("PASS: ..." or "FAIL: ...") and each failure also
# to $E2E_OUT/failures; the host reports the first failure as the reason. Checks are counted in files, not in
# shell variables, so a check inside a subshell or a pipeline still counts.
#
# Conventions:
#   - check*, wait_*, insmod_lp and start_daemon record their failure and return non-zero, so "|| exit 1"
#     stops a scenario that cannot sensibly go on; a plain failed check lets it continue and collect more
#     evidence. "abort DESC" records a failure of its own and stops.
#   - Scratch files go to $E2E_WORK (tmpfs); it is copied to the results share when the scenario ends.

E2E_OUT=${E2E_OUT:-/results}
E2E_WORK=${E2E_WORK:-/tmp/e2e}
LP_SYSFS=/sys/kernel/livepatch
# The test modules: /lp in the initramfs guest, the per-run pkg share in the systemd guest (guest/sysboot.sh).
LP_DIR=${E2E_LP_DIR:-/lp}
LPD_SOCKET=/run/livepatchd/livepatchd.sock
LPD_STATE_DIR=/var/lib/livepatchd
LPD_LOG=$E2E_OUT/livepatchd.log
# How long to wait for a livepatch transition: the kernel fake-signals blocked tasks only after ~15 s.
LP_TRANSITION_TIMEOUT=${LP_TRANSITION_TIMEOUT:-45}
mkdir -p "$E2E_WORK"
# Busybox has usleep; the Debian system of the systemd guest (dash, coreutils) has a sleep that takes fractions.
command -v usleep > /dev/null 2>&1 || usleep() { sleep "$(awk -v u="$1" 'BEGIN { printf "%.6f", u / 1000000 }')"; }

# ---------------------------------------------------------------- output

uptime_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
log() { echo "[$(cut -d' ' -f1 /proc/uptime)] $*"; }

_record() { # _record PASS|FAIL MESSAGE
  echo "$1: $2" >> "$E2E_OUT/checks"
  [ "$1" = FAIL ] && echo "$2" >> "$E2E_OUT/failures"
  echo "CHECK $1: $2"
}

# pass DESC / fail DESC [DETAIL]: record an outcome decided by the scenario itself.
pass() { _record PASS "$1"; }
fail() {
  _record FAIL "$1${2:+: $2}"
  return 1
}
# abort DESC [DETAIL]: record a failure and end the scenario (it cannot sensibly continue).
abort() {
  fail "$@"
  exit 1
}

# ---------------------------------------------------------------- checks

# check DESC EXPECTED ACTUAL: string equality.
check() {
  if [ "$2" = "$3" ]; then
    _record PASS "$1 -> '$3'"
  else
    fail "$1" "expected '$2', got '$3'"
  fi
}

# check_contains DESC NEEDLE HAYSTACK: HAYSTACK contains NEEDLE.
check_contains() {
  case "$3" in
    *"$2"*) _record PASS "$1 -> contains '$2'" ;;
    *) fail "$1" "expected to contain '$2', got '$(echo "$3" | head -c 300)'" ;;
  esac
}

# check_rc DESC EXPECTED_RC CMD...: run CMD, compare its exit status. Its output goes to $E2E_WORK/last.out
# (and is shown on a mismatch).
check_rc() {
  local desc="$1" want="$2" got
  shift 2
  "$@" > "$E2E_WORK/last.out" 2>&1
  got=$?
  if [ "$got" = "$want" ]; then
    _record PASS "$desc -> rc $got"
  else
    fail "$desc" "expected rc $want, got rc $got from '$*': $(tail -c 300 "$E2E_WORK/last.out" | tr '\n' ' ')"
  fi
}

# json FILTER FILE: jq -r FILTER FILE, or "<invalid json: ...>" when FILE is not the JSON we expect.
json() {
  jq -r "$1" "$2" 2> "$E2E_WORK/jq.err" || echo "<jq '$1' failed on $2: $(head -c 200 "$E2E_WORK/jq.err")>"
}

# check_json DESC JQ_FILTER EXPECTED FILE: jq -r JQ_FILTER on FILE must print EXPECTED (multi-line output is
# joined with spaces, so a list of names compares as "a b c").
check_json() {
  local actual
  actual=$(json "$2" "$4" | tr '\n' ' ' | sed 's/ $//')
  check "$1 [$2]" "$3" "$actual"
}

# ---------------------------------------------------------------- waiting

# wait_for TIMEOUT_S CMD...: poll CMD every 100 ms until it succeeds; non-zero after TIMEOUT_S seconds.
wait_for() {
  local deadline
  deadline=$(($(uptime_ms) + $1 * 1000))
  shift
  until "$@" > /dev/null 2>&1; do
    [ "$(uptime_ms)" -ge "$deadline" ] && return 1
    usleep 100000
  done
  return 0
}

_no_transition() { [ "$(cat "$LP_SYSFS/$1/transition" 2> /dev/null || echo 0)" = 0 ]; }
_sysfs_gone() { [ ! -d "$LP_SYSFS/$1" ]; }

# wait_transition PATCH [TIMEOUT_S]: until the kernel says PATCH is not in transition (or PATCH is gone).
# This reads sysfs, the kernel's own truth, so it can be used to check what lpctl reports.
wait_transition() {
  local t0
  t0=$(uptime_ms)
  if wait_for "${2:-$LP_TRANSITION_TIMEOUT}" _no_transition "$1"; then
    log "transition of $1 over after $(($(uptime_ms) - t0)) ms"
  else
    fail "transition of $1 finished within ${2:-$LP_TRANSITION_TIMEOUT} s" "still in transition"
  fi
}

# wait_patch_gone PATCH [TIMEOUT_S]: until /sys/kernel/livepatch/PATCH has disappeared.
wait_patch_gone() {
  wait_for "${2:-$LP_TRANSITION_TIMEOUT}" _sysfs_gone "$1" ||
    fail "$LP_SYSFS/$1 removed within ${2:-$LP_TRANSITION_TIMEOUT} s" "still present"
}

# ---------------------------------------------------------------- modules

# insmod_lp FILE [ARGS]: insmod /lp/FILE (e.g. lpdemo_v1.ko), checked.
insmod_lp() {
  check_rc "insmod $1" 0 insmod "$LP_DIR/$1"
}

# ---------------------------------------------------------------- holding transitions open
# A transition can finish in 2 ms or take 2 s under TCG, and a daemon that polls may miss a short one. These
# park a task inside a function the transition must wait for, so a test decides how long the transition runs.

_on_stack() { grep -q "$2" "/proc/$1/stack" 2> /dev/null; }

# park_reader FILE FUNCTION: read FILE in the background until the reader sleeps in FUNCTION (checked on its
# kernel stack). Sets PARKED_PID; the reader's output goes to $E2E_WORK/parked.out.
park_reader() {
  cat "$1" > "$E2E_WORK/parked.out" 2>&1 &
  PARKED_PID=$!
  wait_for 10 _on_stack "$PARKED_PID" "$2" ||
    fail "a reader of $1 sleeps in $2" "stack: $(tr '\n' ' ' < "/proc/$PARKED_PID/stack" 2> /dev/null)"
}

# park_in_sleeper: load lpdemo_sleeper if needed and park a reader in lpdemo_sleeper_wait(), which holds any
# transition of a patch to that function (lpdemo_v3) until release_sleeper.
park_in_sleeper() {
  [ -d /sys/module/lpdemo_sleeper ] || insmod_lp lpdemo_sleeper.ko || return 1
  park_reader /proc/lpdemo_sleep lpdemo_sleeper_wait
}
release_sleeper() { echo go > /proc/lpdemo_sleep; }

# park_kthread: load lpdemo_sleeper if needed and have it start the kernel thread lpdemo_kthread, which sleeps in
# lpdemo_sleeper_wait() until release_sleeper. Unlike a reader, the kernel's fake signal (~15 s into a transition)
# cannot move a kernel thread: a transition of lpdemo_v3 stays open until the test releases it. Sets KTHREAD_PID.
park_kthread() {
  [ -d /sys/module/lpdemo_sleeper ] || insmod_lp lpdemo_sleeper.ko || return 1
  echo kthread > /proc/lpdemo_sleep || { fail "lpdemo_sleeper starts lpdemo_kthread"; return 1; }
  wait_for 20 _kthread_parked || { fail "lpdemo_kthread sleeps in lpdemo_sleeper_wait"; return 1; }
  KTHREAD_PID=$(_kthread_pid)
}
_kthread_pid() {
  for d in /proc/[0-9]*; do
    if [ "$(cat "$d/comm" 2> /dev/null)" = lpdemo_kthread ]; then
      echo "${d#/proc/}"
      return 0
    fi
  done
  return 1
}
_kthread_parked() { _on_stack "$(_kthread_pid)" lpdemo_sleeper_wait; }

# hold_patch PATCH [MS]: park a /proc/cmdline reader inside PATCH's replacement function (lpdemo_v1/v2/v4)
# for MS milliseconds (default: until release_held), which holds a disable of PATCH, or its replacement by a
# newer patch, open. The kernel's own fake signal ends the hold after ~15 s of transition in any case.
hold_patch() {
  echo "${2:-600000}" > "/sys/module/$1/parameters/hold_ms" || return 1
  park_reader /proc/cmdline lpdemo_cmdline_show
  # Only the parked reader should sleep; later reads of /proc/cmdline (by the test itself) must not.
  echo 0 > "/sys/module/$1/parameters/hold_ms"
}

# check_parked DESC PID FUNCTION: PID is alive and FUNCTION is still on its kernel stack (it never left it).
check_parked() {
  if _on_stack "$2" "$3"; then
    _record PASS "$1 -> pid $2 sleeps in $3"
  else
    fail "$1" "pid $2 is not in $3; stack: $(tr '\n' ' ' < "/proc/$2/stack" 2> /dev/null || echo 'gone')"
  fi
}

# check_in_transition PATCH WHAT: the kernel still has PATCH in transition, so WHAT (the captures just made) saw
# the running transition. A stall lasts only until the kernel's fake signal, ~15 s into the transition: capture
# first (lpctl_json), then call this, then check the captures; a slow host shows here, not as odd output.
check_in_transition() {
  check "kernel: $1 still in transition after $2" 1 "$(cat "$LP_SYSFS/$1/transition" 2>&1)"
}

# presence PATH: "present" or "absent", for check (e.g. check "module gone" absent "$(presence /sys/module/x)").
presence() { if [ -e "$1" ]; then echo present; else echo absent; fi; }

# release_held: end the hold of hold_patch/park_reader (any signal wakes the interruptible sleep).
release_held() {
  kill -TERM "$PARKED_PID" 2> /dev/null
  wait "$PARKED_PID" 2> /dev/null
  return 0
}

# ---------------------------------------------------------------- daemon and lpctl

# start_daemon [ARGS...]: start livepatchd with its log on the results share, and wait until it answers
# "lpctl status". Extra ARGS are passed to livepatchd (e.g. Section:Key=value). It runs with --no-dbus unless
# LPD_DBUS=1 (then it publishes on the system bus of start_bus: "start_bus && LPD_DBUS=1 start_daemon").
start_daemon() {
  command -v livepatchd > /dev/null || abort "livepatchd is in the guest" "not found (was --bin given?)"
  mkdir -p "$(dirname "$LPD_SOCKET")" "$LPD_STATE_DIR"
  [ "${LPD_DBUS:-0}" = 1 ] || set -- --no-dbus "$@"
  log "starting livepatchd $*"
  livepatchd --socket "$LPD_SOCKET" --state-dir "$LPD_STATE_DIR" "$@" >> "$LPD_LOG" 2>&1 &
  LPD_PID=$!
  if wait_for 30 _daemon_ready && ! _pid_gone "$LPD_PID"; then
    log "livepatchd ready (pid $LPD_PID)"
    return 0
  fi
  if _pid_gone "$LPD_PID"; then
    wait "$LPD_PID"
    fail "livepatchd starts" "it exited with status $?: $(tail -n 3 "$LPD_LOG" | tr '\n' ' ')"
  else
    tail -n 20 "$LPD_LOG"
    fail "livepatchd answers lpctl status within 30 s" "not ready; see livepatchd.log"
  fi
}
# start_daemon_trusted [ARGS...]: start_daemon with the e2e "trusted" test certificate (/lp/trusted.pem) in the
# daemon's default trusted directory (Verification:TrustedCertificatesDir, /etc/livepatchd/trusted.d), so the
# *.signed.ko modules pass livepatchd's signature check. The kernel's own keyrings still lack that key.
LPD_TRUSTED_DIR=/etc/livepatchd/trusted.d
# shellcheck disable=SC2034 # used by the scenarios
TRUSTED_CN="LivePatchAgent e2e trusted test signing key"
start_daemon_trusted() {
  { mkdir -p "$LPD_TRUSTED_DIR" && cp "$LP_DIR/trusted.pem" "$LPD_TRUSTED_DIR/e2e-trusted.pem"; } ||
    abort "install $LP_DIR/trusted.pem into $LPD_TRUSTED_DIR"
  start_daemon "$@"
}

# start_bus: start the guest's system bus and wait until it answers. dbus-daemon (from the host's Debian package)
# runs as root with /etc/dbus-1/e2e-system.conf: Debian's system bus policy plus the files in
# /usr/share/dbus-1/system.d (ours, org.livepatchd.Agent1.conf), listening on $BUS_SOCKET (also reachable as
# /var/run/dbus/..., the clients' default). Sets BUS_PID; its log is $E2E_WORK/dbus-daemon.log.
BUS_SOCKET=/run/dbus/system_bus_socket
start_bus() {
  command -v dbus-daemon > /dev/null || abort "dbus-daemon is in the guest" "not found"
  mkdir -p "$(dirname "$BUS_SOCKET")"
  log "starting dbus-daemon"
  dbus-daemon --config-file=/etc/dbus-1/e2e-system.conf --nofork --nopidfile >> "$E2E_WORK/dbus-daemon.log" 2>&1 &
  BUS_PID=$!
  if wait_for 20 _bus_ready && ! _pid_gone "$BUS_PID"; then
    log "dbus-daemon ready (pid $BUS_PID)"
    return 0
  fi
  fail "dbus-daemon answers on $BUS_SOCKET within 20 s" "$(tail -n 3 "$E2E_WORK/dbus-daemon.log" | tr '\n' ' ')"
}
_bus_ready() {
  _pid_gone "$BUS_PID" || dbus-send --system --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.GetId
}

# _daemon_ready: lpctl status works, or the daemon is gone (then waiting longer is pointless).
_daemon_ready() { lpctl --socket "$LPD_SOCKET" status || _pid_gone "$LPD_PID"; }

# stop_daemon: SIGTERM, then wait up to 10 s for a clean exit.
stop_daemon() {
  [ -n "${LPD_PID:-}" ] || return 0
  kill -TERM "$LPD_PID" 2> /dev/null
  wait_for 10 _pid_gone "$LPD_PID" || { kill -KILL "$LPD_PID" 2> /dev/null; fail "livepatchd stops on SIGTERM within 10 s"; }
  LPD_PID=""
}
_pid_gone() { ! kill -0 "$1" 2> /dev/null; }

# lpctl_json OUT ARGS...: lpctl -o json ARGS > OUT (stderr to OUT.err); returns lpctl's exit status.
lpctl_json() {
  local out="$1"
  shift
  lpctl --socket "$LPD_SOCKET" -o json "$@" > "$out" 2> "$out.err"
}

# check_lpctl DESC EXPECTED_RC OUT ARGS...: lpctl_json OUT ARGS, checked for EXPECTED_RC; a mismatch shows lpctl's
# stderr. The JSON is in OUT, stderr (with the reason code of an error) in OUT.err.
check_lpctl() {
  local desc="$1" want="$2" out="$3" got
  shift 3
  lpctl_json "$out" "$@"
  got=$?
  if [ "$got" = "$want" ]; then
    _record PASS "$desc -> rc $got"
  else
    fail "$desc" "expected rc $want, got rc $got from 'lpctl -o json $*': $(head -c 300 "$out.err" | tr '\n' ' ')"
  fi
}

# lpctl_as USER OUT ARGS...: lpctl_json as another user (as_user): lpctl -o json ARGS > OUT, stderr in OUT.err.
lpctl_as() {
  local u="$1" out="$2"
  shift 2
  as_user "$u" lpctl --socket "$LPD_SOCKET" -o json "$@" > "$out" 2> "$out.err"
}

# check_lpctl_as DESC EXPECTED_RC USER OUT ARGS...: check_lpctl, run as USER.
check_lpctl_as() {
  local desc="$1" want="$2" u="$3" out="$4" got
  shift 4
  lpctl_as "$u" "$out" "$@"
  got=$?
  if [ "$got" = "$want" ]; then
    _record PASS "$desc -> rc $got"
  else
    fail "$desc" "expected rc $want, got rc $got from 'lpctl -o json $*' as $u: $(head -c 300 "$out.err" | tr '\n' ' ')"
  fi
}

# wait_lpctl_state PATCH STATE [TIMEOUT_S]: until "lpctl -o json info PATCH" reports .patch.state == STATE.
wait_lpctl_state() {
  wait_for "${3:-$LP_TRANSITION_TIMEOUT}" _lpctl_state_is "$1" "$2" ||
    fail "lpctl reports $1 $2 within ${3:-$LP_TRANSITION_TIMEOUT} s" \
      "last: $(cat "$E2E_WORK/info.json" "$E2E_WORK/info.json.err" 2> /dev/null | head -c 300)"
}
_lpctl_state_is() {
  lpctl_json "$E2E_WORK/info.json" info "$1" && [ "$(json .patch.state "$E2E_WORK/info.json")" = "$2" ]
}

# ---------------------------------------------------------------- watch

# watch_start FILE [ARGS...]: run "lpctl -o json watch ARGS" in the background, writing JSON lines to FILE, and
# return once it is connected. lpctl prints nothing until the first event, so "connected" is read from the
# kernel: the daemon's accepted connections show in /proc/net/unix under the socket's path. Under TCG on a
# busy host an AOT lpctl can take seconds to get there, and events before that are not replayed.
watch_start() {
  WATCH_FILE=$1
  shift
  _socket_inodes > "$E2E_WORK/socket-inodes.before"
  lpctl --socket "$LPD_SOCKET" -o json watch "$@" > "$WATCH_FILE" 2> "$WATCH_FILE.err" &
  WATCH_PID=$!
  if ! wait_for 30 _new_connection; then
    fail "lpctl watch connects to the daemon within 30 s" "$(head -c 300 "$WATCH_FILE.err")"
    return 1
  fi
  # Connected; the Watch call itself follows within a few milliseconds.
  usleep 500000
  if _pid_gone "$WATCH_PID"; then
    wait "$WATCH_PID"
    fail "lpctl watch keeps running" "exited with $?: $(head -c 300 "$WATCH_FILE.err")"
  fi
}
# Inodes of the sockets in /proc/net/unix bound to the daemon's path: the listener and one per accepted
# connection. A new inode means a new connection, whatever older connections closed meanwhile.
_socket_inodes() { awk -v p="$LPD_SOCKET" '$NF == p { print $7 }' /proc/net/unix; }
_new_connection() {
  _socket_inodes | grep -qvxF -f "$E2E_WORK/socket-inodes.before" || _pid_gone "$WATCH_PID"
}

# lpctl_follow_start OUT ARGS...: start "lpctl ARGS" in the background (stdout OUT, stderr OUT.err) and return once
# it is connected to the daemon (or gone). Sets FOLLOW_PID.
lpctl_follow_start() {
  local out=$1
  shift
  _socket_inodes > "$E2E_WORK/socket-inodes.before"
  lpctl --socket "$LPD_SOCKET" "$@" > "$out" 2> "$out.err" &
  FOLLOW_PID=$!
  wait_for 30 _follow_connected || fail "lpctl $* connects to the daemon within 30 s" "$(head -c 300 "$out.err")"
  # Connected; its calls follow within milliseconds.
  usleep 500000
}
_follow_connected() {
  _socket_inodes | grep -qvxF -f "$E2E_WORK/socket-inodes.before" || _pid_gone "$FOLLOW_PID"
}

# watch_stop: end the background watch.
watch_stop() {
  [ -n "${WATCH_PID:-}" ] || return 0
  kill -TERM "$WATCH_PID" 2> /dev/null
  wait "$WATCH_PID" 2> /dev/null
  WATCH_PID=""
}

# events FILE [PATCH]: the event kinds in FILE (for PATCH only, if given), in order, space-separated.
events() {
  jq -r --arg p "${2:-}" 'select($p == "" or .patch == $p) | .kind' "$1" 2> /dev/null | tr '\n' ' ' | sed 's/ $//'
}
# Slurped (-s): jq 1.6's -e judges only the last input, so a per-line select would miss an earlier match.
_has_event() { jq -s -e --arg k "$2" --arg p "$3" 'any(.[]; .kind == $k and .patch == $p)' "$1" > /dev/null 2>&1; }

# wait_event FILE KIND PATCH [TIMEOUT_S]: until FILE has an event of KIND for PATCH.
wait_event() {
  wait_for "${4:-$LP_TRANSITION_TIMEOUT}" _has_event "$1" "$2" "$3" ||
    fail "watch shows $2 for $3 within ${4:-$LP_TRANSITION_TIMEOUT} s" "events so far: $(events "$1")"
}

# wait_event_count FILE KIND PATCH COUNT [TIMEOUT_S]: until FILE has at least COUNT events of KIND for PATCH (for a
# second transition of the same patch in one watch stream).
wait_event_count() {
  wait_for "${5:-$LP_TRANSITION_TIMEOUT}" _has_events "$1" "$2" "$3" "$4" ||
    fail "watch shows $2 for $3 $4 time(s) within ${5:-$LP_TRANSITION_TIMEOUT} s" "events so far: $(events "$1")"
}
_has_events() {
  jq -s -e --arg k "$2" --arg p "$3" --argjson n "$4" '[.[] | select(.kind == $k and .patch == $p)] | length >= $n' \
    "$1" > /dev/null 2>&1
}

# event_json FILE KIND PATCH [N]: the Nth (default 1st) event of KIND for PATCH in FILE, as one JSON object
# ("null" when there is none), for check_json on a single event: event_json "$W" transition-stalled p > "$E".
event_json() {
  jq -cs --arg k "$2" --arg p "$3" --argjson n "${4:-1}" '[.[] | select(.kind == $k and .patch == $p)][$n - 1]' "$1"
}

# check_no_events DESC FILE PATCH KIND...: none of the KINDs occurs for PATCH in FILE.
check_no_events() {
  local desc="$1" file="$2" patch="$3" seen k bad=""
  shift 3
  seen=" $(events "$file" "$patch") "
  for k in "$@"; do
    case "$seen" in *" $k "*) bad="$bad $k" ;; esac
  done
  if [ -z "$bad" ]; then
    _record PASS "$desc -> none of: $*"
  else
    fail "$desc" "expected none of '$*' for $patch, got '$seen'"
  fi
}

# check_event_order DESC FILE PATCH KIND...: the KINDs occur for PATCH in FILE in this order (other events
# may come between them).
check_event_order() {
  local desc="$1" file="$2" patch="$3" seen rest k
  shift 3
  seen=" $(events "$file" "$patch") "
  rest=$seen
  for k in "$@"; do
    case "$rest" in
      *" $k "*)
        rest=${rest#*" $k "}
        rest=" $rest"
        ;;
      *)
        fail "$desc" "expected '$*' in this order for $patch, got '$seen'"
        return 1
        ;;
    esac
  done
  _record PASS "$desc -> $*"
}

# ---------------------------------------------------------------- misc

# as_user USER CMD...: run CMD as USER. busybox su (as root it asks no password) takes options even after
# the user name, so CMD travels as one quoted string rather than as arguments.
as_user() {
  local u="$1" cmd="" a
  shift
  for a in "$@"; do
    cmd="$cmd '$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'"
  done
  su -s /bin/sh "$u" -c "exec $cmd"
}

# kernel_build_id: the running vmlinux's GNU build-id (hex), read from the ELF notes in /sys/kernel/notes.
kernel_build_id() {
  od -An -v -tx1 /sys/kernel/notes | awk '
    function hex(s) { return index("0123456789abcdef", substr(s, 1, 1)) * 16 + index("0123456789abcdef", substr(s, 2, 1)) - 17 }
    function u32(i) { return hex(b[i]) + hex(b[i + 1]) * 256 + hex(b[i + 2]) * 65536 + hex(b[i + 3]) * 16777216 }
    { for (j = 1; j <= NF; j++) b[++n] = $j }
    END {
      i = 1
      while (i + 12 <= n) {
        namesz = u32(i); descsz = u32(i + 4); type = u32(i + 8)
        name = i + 12; desc = name + int((namesz + 3) / 4) * 4
        if (type == 3 && namesz == 4 && b[name] b[name + 1] b[name + 2] == "474e55") {
          for (k = 0; k < descsz; k++) printf "%s", b[desc + k]
          print ""
          exit
        }
        i = desc + int((descsz + 3) / 4) * 4
      }
    }'
}

# save FILE...: copy files into the results share (they are kept with a failing scenario's logs).
save() { cp "$@" "$E2E_OUT/" 2> /dev/null; }
