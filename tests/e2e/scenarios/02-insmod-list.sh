# shellcheck shell=sh
# A livepatch loaded with plain insmod (behind the daemon's back) shows up in "lpctl list" and "lpctl info"
# exactly as the kernel has it: state, objects, functions and the module's refcnt, taint and srcversion.

start_daemon || exit 1
insmod_lp lpdemo_v1.ko || exit 1
wait_transition lpdemo_v1
wait_lpctl_state lpdemo_v1 enabled 15

L=$E2E_WORK/list.json
lpctl_json "$L" list || fail "lpctl -o json list exits 0" "rc $?: $(cat "$L.err")"
save "$L"
check_json "schema version" .schemaVersion 1 "$L"
check_json "patch names" '[.patches[].name] | join(" ")' lpdemo_v1 "$L"
P='.patches[] | select(.name == "lpdemo_v1")'
check_json "state" "$P | .state" enabled "$L"
check_json "enabled (sysfs says $(cat "$LP_SYSFS/lpdemo_v1/enabled"))" "$P | .enabled" true "$L"
check_json "not in transition" "$P | .transition" false "$L"
check_json "replace unknown: 6.1 has no replace attribute" "$P | .replace" null "$L"
check_json "objects" "[$P | .objects[].name] | join(\" \")" vmlinux "$L"
check_json "vmlinux patched (sysfs says $(cat "$LP_SYSFS/lpdemo_v1/vmlinux/patched"))" \
  "$P | .objects[0].patched" true "$L"
sysfs_funcs=""
for f in "$LP_SYSFS"/lpdemo_v1/vmlinux/*,*; do sysfs_funcs="$sysfs_funcs${sysfs_funcs:+ }${f##*/}"; done
check_json "functions (sysfs has $sysfs_funcs)" "[$P | .objects[0].functions[] | \"\\(.name),\\(.sympos)\"] | join(\" \")" \
  "$sysfs_funcs" "$L"
check_json "function is cmdline_proc_show sympos 1" "$P | .objects[0].functions[0] | \"\\(.name) \\(.sympos)\"" \
  "cmdline_proc_show 1" "$L"
check_json "module refcnt" "$P | .module.refcnt" "$(cat /sys/module/lpdemo_v1/refcnt)" "$L"
check_json "module refcnt is 1 (the livepatch core holds it)" "$P | .module.refcnt" 1 "$L"
check_json "module taint" "$P | .module.taint" "$(cat /sys/module/lpdemo_v1/taint)" "$L"
check_json "module srcversion" "$P | .module.srcversion" "$(cat /sys/module/lpdemo_v1/srcversion)" "$L"
check_json "module initstate" "$P | .module.initstate" live "$L"

I=$E2E_WORK/info.json
lpctl_json "$I" info lpdemo_v1 || fail "lpctl -o json info lpdemo_v1 exits 0" "rc $?: $(cat "$I.err")"
save "$I"
check_json "info: name and state" '"\(.patch.name) \(.patch.state)"' "lpdemo_v1 enabled" "$I"
check_json "info: functions" '[.patch.objects[].functions[].name] | join(" ")' cmdline_proc_show "$I"

check_rc "info of an unknown patch exits 1" 1 lpctl info lpdemo_nosuch
check_contains "and explains on stderr" "lpctl: " "$(cat "$E2E_WORK/last.out")"

S=$E2E_WORK/status.json
lpctl_json "$S" status || fail "lpctl -o json status exits 0" "rc $?"
check_json "status counts the patch" '"\(.patchCount) \(.enabledPatchCount)"' "1 1" "$S"
check_json "status is idle" .state idle "$S"
check_json "taint mask now includes K" .kernel.taintMask "$(cat /proc/sys/kernel/tainted)" "$S"
check_json "taint flags include K" '.kernel.taintFlags | test("K")' true "$S"
