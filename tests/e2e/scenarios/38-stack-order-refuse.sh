# shellcheck shell=sh
# Stack order and a patch that refuses itself, on the real kernel.
# 1. lpdemo_v1 and then lpdemo_stack, both replace=false patches of cmdline_proc_show, stack: the newer one's
#    version runs. lpctl list gives each its stack position (from the kernel's stack_order on 6.14+, else from the
#    module load order in /proc/modules, and says which), and lpctl info lpdemo_v1 says its function is hidden by
#    lpdemo_stack. Unloading lpdemo_stack makes lpdemo_v1's version run again, and info says so.
# 2. lpdemo_refuse's pre-patch callback declines (-ENODEV): the kernel loads the module, the callback fails and
#    finit_module returns ENODEV. lpctl load exits 1 with patch-refused-itself (not a kernel refusal), the kernel
#    logs "pre-patch callback failed", and nothing is left loaded.

V1=$LP_DIR/lpdemo_v1.signed.ko
VS=$LP_DIR/lpdemo_stack.signed.ko
VR=$LP_DIR/lpdemo_refuse.signed.ko
start_daemon_trusted || exit 1

# ---- 1. stack order
check_lpctl "lpctl load lpdemo_v1.signed.ko exits 0" 0 "$E2E_WORK/load-v1.json" load "$V1" --timeout 60 || exit 1
check_lpctl "lpctl load lpdemo_stack.signed.ko exits 0" 0 "$E2E_WORK/load-stack.json" load "$VS" --timeout 60 || exit 1
check "/proc/cmdline: the newer patch's version runs" "lpdemo_stack: /proc/cmdline is live patched" "$(cat /proc/cmdline)"
source=module-load-order
[ -e "$LP_SYSFS/lpdemo_v1/stack_order" ] && source=sysfs
L=$E2E_WORK/list.json
check_lpctl "lpctl -o json list exits 0" 0 "$L" list
save "$L"
check_json "list: lpdemo_v1 is 1st, lpdemo_stack 2nd, from $source" \
  '[.patches[] | "\(.name)=\(.stackOrder)/\(.stackOrderSource)"] | sort | join(" ")' \
  "lpdemo_stack=2/$source lpdemo_v1=1/$source" "$L"
I=$E2E_WORK/info-v1.json
check_lpctl "lpctl -o json info lpdemo_v1 exits 0" 0 "$I" info lpdemo_v1
check_json "info lpdemo_v1: cmdline_proc_show is served by lpdemo_stack" \
  '[.patch.objects[].functions[] | select(.name == "cmdline_proc_show") | .servedBy] | join(" ")' lpdemo_stack "$I"
check_contains "info lpdemo_v1 (table): hidden by lpdemo_stack" "hidden by lpdemo_stack" "$(lpctl --socket "$LPD_SOCKET" info lpdemo_v1)"
check_lpctl "lpctl unload lpdemo_stack exits 0" 0 "$E2E_WORK/unload-stack.json" unload lpdemo_stack --timeout 60
check "/proc/cmdline: lpdemo_v1's version runs again" "lpdemo_v1: /proc/cmdline is live patched" "$(cat /proc/cmdline)"
check_lpctl "lpctl -o json info lpdemo_v1 exits 0" 0 "$I" info lpdemo_v1
check_json "info lpdemo_v1: served by itself again" \
  '[.patch.objects[].functions[] | select(.name == "cmdline_proc_show") | .servedBy] | join(" ")' lpdemo_v1 "$I"

# ---- 2. a patch that declines to apply
R=$E2E_WORK/load-refuse.json
check_lpctl "lpctl load lpdemo_refuse.signed.ko exits 1" 1 "$R" load "$VR" --timeout 60
save "$R" "$R.err"
check_json "load: patch-refused-itself" .error.reason patch-refused-itself "$R"
check_contains "stderr carries (patch-refused-itself)" "(patch-refused-itself)" "$(cat "$R.err")"
check_contains "dmesg: the kernel ran the callback and it failed" "pre-patch callback failed" "$(dmesg)"
check "kernel: no module lpdemo_refuse" absent "$(presence /sys/module/lpdemo_refuse)"
check "kernel: no patch lpdemo_refuse" absent "$(presence "$LP_SYSFS/lpdemo_refuse")"
check "/proc/cmdline: still lpdemo_v1's version" "lpdemo_v1: /proc/cmdline is live patched" "$(cat /proc/cmdline)"
