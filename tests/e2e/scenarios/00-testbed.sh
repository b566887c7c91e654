# shellcheck shell=sh
# The test bed itself, without the daemon: the guest kernel has livepatch, our modules load and patch
# /proc/cmdline, a disable unpatches it, and the guest tools the other scenarios rely on work. When this
# fails, every other failure in the same run is suspect.
# timeout: 120

check "livepatch sysfs exists (CONFIG_LIVEPATCH=y)" yes "$([ -d "$LP_SYSFS" ] && echo yes)"
check "/boot has the running kernel's config" yes "$([ -f "/boot/config-$(uname -r)" ] && echo yes)"
check "lpdemo_v1.ko is a livepatch" Y "$(modinfo -F livepatch "$LP_DIR/lpdemo_v1.ko")"
check "lpdemo_notlp.ko is not a livepatch" "" "$(modinfo -F livepatch "$LP_DIR/lpdemo_notlp.ko")"
check "lockdown readable through securityfs" "[none] integrity confidentiality" "$(cat /sys/kernel/security/lockdown)"
check "jq works in the guest" 2 "$(echo '{"a":[1,2]}' | jq '.a | length')"
check "as_user runs as lpuser" 1000 "$(as_user lpuser id -u)"
check "lpuser cannot write to /lp" denied "$(as_user lpuser sh -c 'echo x > /lp/probe' 2> /dev/null && echo allowed || echo denied)"

original=$(cat /proc/cmdline)
insmod_lp lpdemo_v1.ko || exit 1
wait_transition lpdemo_v1
check "lpdemo_v1 enabled in sysfs" 1 "$(cat "$LP_SYSFS/lpdemo_v1/enabled")"
check "vmlinux object patched" 1 "$(cat "$LP_SYSFS/lpdemo_v1/vmlinux/patched")"
check "function dir cmdline_proc_show,1" yes "$([ -d "$LP_SYSFS/lpdemo_v1/vmlinux/cmdline_proc_show,1" ] && echo yes)"
check "/proc/cmdline shows the v1 banner" "lpdemo_v1: /proc/cmdline is live patched" "$(cat /proc/cmdline)"
check "kernel tainted K (livepatch)" 1 "$(( ($(cat /proc/sys/kernel/tainted) >> 15) & 1 ))"

echo 0 > "$LP_SYSFS/lpdemo_v1/enabled"
wait_patch_gone lpdemo_v1
check "/proc/cmdline is original again" "$original" "$(cat /proc/cmdline)"
check_rc "rmmod lpdemo_v1 after disable" 0 rmmod lpdemo_v1
