# shellcheck shell=sh disable=SC3043,SC2317
# livepatchd on a real system bus (issue 7). The guest runs Debian's dbus-daemon with the system bus policy plus
# ours (systemd/dbus-1/org.livepatchd.Agent1.conf), and livepatchd publishes org.livepatchd.Agent1 on it. Real
# clients from the Debian packages, dbus-send and gdbus, read the properties and call the methods, and two
# "gdbus monitor"s (root and the unprivileged lpuser) record the signals. Before a load: idle, no patches. After
# "lpctl load lpdemo_v1.signed.ko": PatchCount and EnabledPatchCount 1, still idle, GetPatches/GetPatch say what
# sysfs says, and the monitors saw PropertiesChanged and then PatchStateChanged ('lpdemo_v1', 'enabled').
# A sysfs disable held open by a reader (StallAfter 2 s, OnStall=None) shows as transitioning, then stalled
# (TransitionStalled with 1 blocking task), then the patch is removed and the state idle again. The policy: lpuser
# reads properties and calls the methods, but may not own the name; nobody may Properties.Set. lpctl status is not
# degraded while the daemon is on the bus, degraded while the bus is down, and clean again once it has reconnected
# to a restarted bus.
# The web console's members (issue 20): KernelLockdown and SignatureEnforcement say what the guest kernel's files
# say, DegradedReasons is empty, and GetHistory gives root the load (newest first) but is refused to lpuser.
# timeout: 240

DEST=org.livepatchd.Agent1
OBJ=/org/livepatchd/Agent1
IFACE=org.livepatchd.Agent1
V1=$LP_DIR/lpdemo_v1.signed.ko

# bus_get PROP [RUNNER...]: PROP read with dbus-send (Properties.Get), as the bare value: 'variant string "idle"'
# prints idle, 'variant uint32 0' prints 0. RUNNER (e.g. "as_user lpuser") runs dbus-send. Returns dbus-send's
# exit status; its whole output is in $E2E_WORK/get.out.
bus_get() {
  local prop="$1" rc
  shift
  "$@" dbus-send --system --print-reply --dest=$DEST $OBJ org.freedesktop.DBus.Properties.Get \
    string:$IFACE string:"$prop" > "$E2E_WORK/get.out" 2>&1
  rc=$?
  if [ "$rc" = 0 ]; then
    sed -n 's/^ *variant *[a-z0-9]* //p' "$E2E_WORK/get.out" | sed 's/^"\(.*\)"$/\1/'
  else
    echo "<dbus-send failed: $(head -c 200 "$E2E_WORK/get.out" | tr '\n' ' ')>"
  fi
  return $rc
}
_bus_is() { [ "$(bus_get "$1")" = "$2" ]; }
# wait_bus PROP VALUE [TIMEOUT_S]: until dbus-send reads VALUE from PROP.
wait_bus() {
  wait_for "${3:-15}" _bus_is "$1" "$2" || fail "D-Bus $1 becomes '$2' within ${3:-15} s" "last: $(bus_get "$1")"
}
# gcall OUT METHOD [ARGS...]: gdbus call of METHOD (interface.member) on the object; output in OUT.
gcall() {
  local out="$1"
  shift
  gdbus call --system --dest $DEST --object-path $OBJ --method "$@" > "$out" 2>&1
}
# line_of FILE PATTERN: number of the first line of FILE that contains PATTERN (fixed string), 0 when none.
line_of() { grep -n -F -m1 -e "$2" "$1" | cut -d: -f1 | grep . || echo 0; }
# check_before DESC FILE FIRST SECOND: FILE has a line with FIRST, and it comes before the first with SECOND.
check_before() {
  local a b
  a=$(line_of "$2" "$3")
  b=$(line_of "$2" "$4")
  if [ "$a" -gt 0 ] && [ "$b" -gt 0 ] && [ "$a" -lt "$b" ]; then
    _record PASS "$1 -> lines $a < $b"
  else
    fail "$1" "expected a line with '$3' (line $a) before one with '$4' (line $b)"
  fi
}
_monitor_ready() { grep -q "is owned by" "$1"; }
_status_is() { lpctl_json "$S" status && [ "$(json .state "$S")" = "$1" ]; }

# ---- the bus and the daemon
start_bus || exit 1
LPD_DBUS=1 start_daemon_trusted Transitions:StallAfter=00:00:02 Transitions:ResolveAfter=00:05:00 \
  Transitions:OnStall=None || exit 1
wait_for 15 grep -q "D-Bus: serving $DEST" "$LPD_LOG" ||
  fail "livepatchd logs 'D-Bus: serving $DEST'" "$(grep 'D-Bus' "$LPD_LOG" | tail -n 3 | tr '\n' ' ')"
S=$E2E_WORK/status.json
check_lpctl "lpctl -o json status exits 0" 0 "$S" status
check_json "status: idle, not degraded (the daemon is on the bus)" .state idle "$S"
check_json "status: no problems" '[.problems[].message] | join("; ")' "" "$S"
dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
  org.freedesktop.DBus.GetConnectionUnixProcessID string:$DEST > "$E2E_WORK/owner.out" 2>&1
check "the bus says livepatchd (pid $LPD_PID) owns $DEST" "uint32 $LPD_PID" \
  "$(sed -n 's/^ *\(uint32 [0-9]*\)$/\1/p' "$E2E_WORK/owner.out")"

# ---- before any patch
check "dbus-send: State" idle "$(bus_get State)"
check "dbus-send: PatchCount" 0 "$(bus_get PatchCount)"
check "dbus-send: EnabledPatchCount" 0 "$(bus_get EnabledPatchCount)"
check "dbus-send: LivepatchSupported" true "$(bus_get LivepatchSupported)"
check "dbus-send: KernelRelease is uname -r" "$(uname -r)" "$(bus_get KernelRelease)"
check "dbus-send: TransitionPatch" "" "$(bus_get TransitionPatch)"
check "dbus-send: LastError" "" "$(bus_get LastError)"
check "dbus-send: TaintMask is /proc/sys/kernel/tainted" "$(cat /proc/sys/kernel/tainted)" "$(bus_get TaintMask)"
# No advisory directory in this guest: no posture, so nothing open and no effective level.
check "dbus-send: OpenCveCount 0 without advisories" 0 "$(bus_get OpenCveCount)"
check "dbus-send: HighestOpenSeverity empty without advisories" "" "$(bus_get HighestOpenSeverity)"
check "dbus-send: EffectiveKernelVersion empty without a posture" "" "$(bus_get EffectiveKernelVersion)"
G=$E2E_WORK/get-state.out
gcall "$G" org.freedesktop.DBus.Properties.Get $IFACE State
check "gdbus: State" "(<'idle'>,)" "$(cat "$G")"
gcall "$G" org.freedesktop.DBus.Properties.Get $IFACE PatchCount
check "gdbus: PatchCount" "(<uint32 0>,)" "$(cat "$G")"
P=$E2E_WORK/getpatches-before.out
gcall "$P" $IFACE.GetPatches
check "gdbus: GetPatches before the load is empty" "(@a(ssbbu) [],)" "$(cat "$P")"
gcall "$E2E_WORK/getpatch-none.out" $IFACE.GetPatch lpdemo_v1
check_contains "gdbus: GetPatch lpdemo_v1 before the load is PatchNotFound" \
  "org.livepatchd.Agent1.Error.PatchNotFound" "$(cat "$E2E_WORK/getpatch-none.out")"
gdbus introspect --system --dest $DEST --object-path $OBJ > "$E2E_WORK/introspect.out" 2>&1
check_contains "gdbus introspect: PatchCount is a read-only u" "readonly u PatchCount" "$(cat "$E2E_WORK/introspect.out")"
check_contains "gdbus introspect: the PatchStateChanged signal" "PatchStateChanged(s name" \
  "$(cat "$E2E_WORK/introspect.out")"

# ---- signals, as root and as lpuser (the policy lets anyone receive them)
MON=$E2E_WORK/monitor-root.txt
MONU=$E2E_WORK/monitor-lpuser.txt
gdbus monitor --system --dest $DEST > "$MON" 2>&1 &
as_user lpuser gdbus monitor --system --dest $DEST > "$MONU" 2>&1 &
wait_for 20 _monitor_ready "$MON" || fail "gdbus monitor (root) sees the name's owner within 20 s" "$(head -c 300 "$MON")"
wait_for 20 _monitor_ready "$MONU" || fail "gdbus monitor (lpuser) sees the name's owner within 20 s" "$(head -c 300 "$MONU")"

# ---- load: lpctl over gRPC, the change over D-Bus
t0=$(uptime_ms)
check_lpctl "lpctl load lpdemo_v1.signed.ko exits 0" 0 "$E2E_WORK/load.json" load "$V1" --timeout 45 || exit 1
wait_bus PatchCount 1
wait_bus EnabledPatchCount 1
log "D-Bus shows lpdemo_v1 enabled $(($(uptime_ms) - t0)) ms after the load started"
check "kernel: lpdemo_v1 enabled, not in transition" "1 0" \
  "$(cat "$LP_SYSFS/lpdemo_v1/enabled" 2>&1) $(cat "$LP_SYSFS/lpdemo_v1/transition" 2>&1)"
check "dbus-send: State after the load" idle "$(bus_get State)"
check "dbus-send: TransitionPatch after the load" "" "$(bus_get TransitionPatch)"
check "dbus-send: TaintMask is /proc/sys/kernel/tainted" "$(cat /proc/sys/kernel/tainted)" "$(bus_get TaintMask)"
check_contains "dbus-send: TaintFlags has K (live patched)" K "$(bus_get TaintFlags)"
check "dbus-send: LastError" "" "$(bus_get LastError)"
updated=$(bus_get UpdatedAt)
now=$(date +%s)
case "$updated" in '' | *[!0-9]*) updated_s=0 ;; *) updated_s=$((updated / 1000000)) ;; esac
check "dbus-send: UpdatedAt (µs) is within a minute of the guest's clock ($now s)" yes \
  "$([ $((updated_s - now)) -le 60 ] && [ $((now - updated_s)) -le 60 ] && echo yes || echo "no: $updated")"
gcall "$G" org.freedesktop.DBus.Properties.Get $IFACE PatchCount
check "gdbus: PatchCount" "(<uint32 1>,)" "$(cat "$G")"

nfunc=$(find "$LP_SYSFS/lpdemo_v1" -mindepth 2 -maxdepth 2 -name '*,*' | wc -l)
P=$E2E_WORK/getpatches.out
gcall "$P" $IFACE.GetPatches
check "gdbus: GetPatches is what sysfs says (enabled, not in transition, $nfunc function(s))" \
  "([('lpdemo_v1', 'enabled', true, false, uint32 $nfunc)],)" "$(cat "$P")"
P1=$E2E_WORK/getpatch.out
gcall "$P1" $IFACE.GetPatch lpdemo_v1
GP=$(cat "$P1")
check_contains "GetPatch: Name" "'Name': <'lpdemo_v1'>" "$GP"
check_contains "GetPatch: State" "'State': <'enabled'>" "$GP"
check_contains "GetPatch: Enabled" "'Enabled': <true>" "$GP"
check_contains "GetPatch: Transition" "'Transition': <false>" "$GP"
check_contains "GetPatch: Objects" "'Objects': <['vmlinux']>" "$GP"
sysfs_funcs=""
for f in "$LP_SYSFS"/lpdemo_v1/vmlinux/*,*; do sysfs_funcs="$sysfs_funcs${sysfs_funcs:+, }'vmlinux:${f##*/}'"; done
check_contains "GetPatch: Functions as in sysfs" "'Functions': <[$sysfs_funcs]>" "$GP"
check_contains "GetPatch: Functions is vmlinux:cmdline_proc_show,1" "vmlinux:cmdline_proc_show,1" "$GP"
check_contains "GetPatch: ModuleRefCount is /sys/module/lpdemo_v1/refcnt" \
  "'ModuleRefCount': <$(cat /sys/module/lpdemo_v1/refcnt)>" "$GP"
check_contains "GetPatch: ModuleTaint is /sys/module/lpdemo_v1/taint" "'ModuleTaint': <'$(cat /sys/module/lpdemo_v1/taint)'>" "$GP"
check_contains "GetPatch: ModuleSrcVersion" "'ModuleSrcVersion': <'$(cat /sys/module/lpdemo_v1/srcversion)'>" "$GP"
check_contains "GetPatch: ModuleInitState" "'ModuleInitState': <'live'>" "$GP"
if [ -e "$LP_SYSFS/lpdemo_v1/replace" ]; then
  check_contains "GetPatch: Replace (the kernel has replace)" "'Replace': <" "$GP"
else
  check "GetPatch: no Replace key (this kernel has no replace attribute)" absent \
    "$(case "$GP" in *"'Replace'"*) echo present ;; *) echo absent ;; esac)"
fi
# The only patch is at the bottom of the stack: from stack_order where the kernel has it, else from the order
# the patch modules were loaded in (/proc/modules).
check_contains "GetPatch: StackOrder 1 (the only patch)" "'StackOrder': <uint32 1>" "$GP"
if [ -e "$LP_SYSFS/lpdemo_v1/stack_order" ]; then
  check_contains "GetPatch: StackOrderSource kernel (the kernel has stack_order)" "'StackOrderSource': <'kernel'>" "$GP"
else
  check_contains "GetPatch: StackOrderSource load-order (this kernel has no stack_order)" "'StackOrderSource': <'load-order'>" "$GP"
fi

for m in "$MON" "$MONU"; do
  who=root
  [ "$m" = "$MONU" ] && who=lpuser
  wait_for 10 grep -qF "PatchStateChanged ('lpdemo_v1', 'enabled')" "$m" ||
    fail "gdbus monitor ($who) sees PatchStateChanged ('lpdemo_v1', 'enabled')" "$(grep -c . "$m") lines: $(tail -c 300 "$m")"
  check_contains "gdbus monitor ($who): PropertiesChanged with PatchCount 1" "'PatchCount': <uint32 1>" \
    "$(grep -F 'PropertiesChanged' "$m")"
  check_before "gdbus monitor ($who): PropertiesChanged (PatchCount 1) before the first PatchStateChanged of lpdemo_v1" \
    "$m" "'PatchCount': <uint32 1>" "PatchStateChanged ('lpdemo_v1'"
  check_before "gdbus monitor ($who): PropertiesChanged (EnabledPatchCount 1) before PatchStateChanged enabled" \
    "$m" "'EnabledPatchCount': <uint32 1>" "PatchStateChanged ('lpdemo_v1', 'enabled')"
done

# ---- the policy: anyone reads, only root owns the name, nobody sets
check "lpuser: dbus-send reads State" idle "$(bus_get State as_user lpuser)"
check "lpuser: dbus-send reads PatchCount" 1 "$(bus_get PatchCount as_user lpuser)"
as_user lpuser gdbus call --system --dest $DEST --object-path $OBJ --method $IFACE.GetPatches \
  > "$E2E_WORK/getpatches-lpuser.out" 2>&1
check "lpuser: gdbus GetPatches answers as for root" "$(cat "$P")" "$(cat "$E2E_WORK/getpatches-lpuser.out")"
as_user lpuser gdbus call --system --dest $DEST --object-path $OBJ --method $IFACE.GetPatch lpdemo_v1 \
  > "$E2E_WORK/getpatch-lpuser.out" 2>&1
check "lpuser: gdbus GetPatch answers as for root" "$GP" "$(cat "$E2E_WORK/getpatch-lpuser.out")"
check_rc "lpuser: RequestName $DEST is refused" 1 as_user lpuser dbus-send --system --print-reply \
  --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.RequestName string:$DEST uint32:0
check_contains "with AccessDenied by the bus policy" "org.freedesktop.DBus.Error.AccessDenied" "$(cat "$E2E_WORK/last.out")"
check_rc "lpuser: Properties.Set State is refused" 1 as_user lpuser dbus-send --system --print-reply --dest=$DEST $OBJ \
  org.freedesktop.DBus.Properties.Set string:$IFACE string:State variant:string:idle
check_contains "with AccessDenied" "org.freedesktop.DBus.Error.AccessDenied" "$(cat "$E2E_WORK/last.out")"
check_rc "root: Properties.Set State is refused too" 1 dbus-send --system --print-reply --dest=$DEST $OBJ \
  org.freedesktop.DBus.Properties.Set string:$IFACE string:State variant:string:idle
check_contains "with AccessDenied" "org.freedesktop.DBus.Error.AccessDenied" "$(cat "$E2E_WORK/last.out")"
check "the name's owner is still livepatchd" "uint32 $LPD_PID" "$(dbus-send --system --print-reply \
  --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.GetConnectionUnixProcessID string:$DEST 2>&1 |
  sed -n 's/^ *\(uint32 [0-9]*\)$/\1/p')"

# ---- the web console's members: the kernel's own policy files, and the audit journal for root only
want_lockdown=$(sed -n 's/.*\[\([a-z]*\)\].*/\1/p' /sys/kernel/security/lockdown 2> /dev/null)
check "dbus-send: KernelLockdown is /sys/kernel/security/lockdown's [mode]" "$want_lockdown" "$(bus_get KernelLockdown)"
case $(cat /sys/module/module/parameters/sig_enforce 2> /dev/null) in
  Y) want_sig=enforced ;; N) want_sig=off ;; *) want_sig= ;;
esac
check "dbus-send: SignatureEnforcement is sig_enforce's" "$want_sig" "$(bus_get SignatureEnforcement)"
gcall "$G" org.freedesktop.DBus.Properties.Get $IFACE DegradedReasons
check "gdbus: DegradedReasons is empty while nothing is wrong" "(<@as []>,)" "$(cat "$G")"
gcall "$E2E_WORK/history.out" $IFACE.GetHistory 10
check_contains "gdbus: GetHistory (root) has the load of lpdemo_v1, completed" \
  "'load', 'lpdemo_v1', 'completed'" "$(head -c 400 "$E2E_WORK/history.out")"
check_rc "lpuser: GetHistory (the audit journal) is refused" 1 as_user lpuser dbus-send --system --print-reply \
  --dest=$DEST $OBJ $IFACE.GetHistory uint32:10
check_contains "with AccessDenied by the bus policy" "org.freedesktop.DBus.Error.AccessDenied" "$(cat "$E2E_WORK/last.out")"

# ---- a held disable: transitioning, stalled (TransitionStalled), then removed and idle
hold_patch lpdemo_v1 || exit 1
t0=$(uptime_ms)
echo 0 > "$LP_SYSFS/lpdemo_v1/enabled" || abort "sysfs disable of lpdemo_v1"
wait_for 10 grep -qF "PatchStateChanged ('lpdemo_v1', 'disabling')" "$MON" ||
  fail "gdbus monitor sees PatchStateChanged ('lpdemo_v1', 'disabling') within 10 s" "$(tail -c 300 "$MON")"
# Stalled after StallAfter (2 s); the kernel's fake signal would end the hold ~15 s in: capture, then check.
wait_bus State stalled 10
tp=$(bus_get TransitionPatch)
ts=$(bus_get TransitionSeconds)
gcall "$E2E_WORK/getpatches-stalled.out" $IFACE.GetPatches
check_in_transition lpdemo_v1 "the D-Bus reads ($(($(uptime_ms) - t0)) ms after the disable)"
check "dbus-send: TransitionPatch while stalled" lpdemo_v1 "$tp"
check "gdbus: GetPatches while stalled (sysfs: enabled 0, transition 1)" \
  "([('lpdemo_v1', 'stalled', false, true, uint32 $nfunc)],)" "$(cat "$E2E_WORK/getpatches-stalled.out")"
check "dbus-send: TransitionSeconds >= StallAfter (2 s) while stalled" yes \
  "$(awk -v s="$ts" 'BEGIN { print (s + 0 >= 2 && s + 0 < 60) ? "yes" : "no: " s }')"
check_contains "gdbus monitor: PropertiesChanged to transitioning" "'State': <'transitioning'>" "$(cat "$MON")"
wait_for 10 grep -qF "TransitionStalled ('lpdemo_v1'" "$MON" ||
  fail "gdbus monitor sees TransitionStalled for lpdemo_v1" "$(tail -c 300 "$MON")"
check_contains "gdbus monitor: TransitionStalled with 1 blocking task" "TransitionStalled ('lpdemo_v1', uint32 1," \
  "$(cat "$MON")"
check_contains "gdbus monitor: PropertiesChanged to stalled" "'State': <'stalled'>" "$(cat "$MON")"
check_contains "gdbus monitor: PatchStateChanged to stalled" "PatchStateChanged ('lpdemo_v1', 'stalled')" "$(cat "$MON")"
release_held
wait_transition lpdemo_v1
wait_patch_gone lpdemo_v1
wait_bus PatchCount 0
check "dbus-send: State after the disable" idle "$(bus_get State)"
check "dbus-send: EnabledPatchCount after the disable" 0 "$(bus_get EnabledPatchCount)"
check "dbus-send: TransitionPatch after the disable" "" "$(bus_get TransitionPatch)"
wait_for 10 grep -qF "PatchStateChanged ('lpdemo_v1', 'removed')" "$MONU" ||
  fail "gdbus monitor (lpuser) sees PatchStateChanged ('lpdemo_v1', 'removed')" "$(tail -c 300 "$MONU")"
check_before "gdbus monitor (lpuser): disabling, then removed" "$MONU" \
  "PatchStateChanged ('lpdemo_v1', 'disabling')" "PatchStateChanged ('lpdemo_v1', 'removed')"
check_contains "gdbus monitor (lpuser): TransitionStalled too" "TransitionStalled ('lpdemo_v1', uint32 1," "$(cat "$MONU")"
# shellcheck disable=SC2046 # one pid per word
kill $(pidof gdbus) 2> /dev/null
save "$MON" "$MONU"

# ---- the bus goes away and comes back: degraded meanwhile, clean after the reconnect
kill -TERM "$BUS_PID"
wait_for 10 _pid_gone "$BUS_PID" || fail "dbus-daemon stops on SIGTERM"
wait_for 15 _status_is degraded ||
  fail "bus down: lpctl status says degraded within 15 s" "$(head -c 300 "$S" "$S.err" | tr '\n' ' ')"
check_contains "livepatchd logs the lost bus" "D-Bus: lost the connection" "$(grep 'D-Bus' "$LPD_LOG")"
check_lpctl "bus down: lpctl status exits 0 (gRPC unaffected)" 0 "$S" status
check_json "bus down: status degraded" .state degraded "$S"
check_contains "bus down: the problem names D-Bus" "d-bus: not connected" "$(json '[.problems[].message] | join("; ")' "$S")"
rm -f "$BUS_SOCKET"
start_bus || exit 1
t0=$(uptime_ms)
wait_bus State idle 20
log "livepatchd back on the bus $(($(uptime_ms) - t0)) ms after it restarted"
check "after the reconnect: dbus-send reads PatchCount" 0 "$(bus_get PatchCount)"
check_lpctl "after the reconnect: lpctl status exits 0" 0 "$S" status
check_json "after the reconnect: status idle, not degraded" .state idle "$S"
check_json "after the reconnect: no problems" '[.problems[].message] | join("; ")' "" "$S"

stop_daemon
kill -TERM "$BUS_PID" 2> /dev/null
wait "$BUS_PID" 2> /dev/null
exit 0
