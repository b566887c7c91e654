#!/usr/bin/env bash
# Entry point for host scripts (run.sh, demo.sh): loads every lib and prepares a bootable test bed.

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=kernel.sh
source "$E2E_DIR/lib/kernel.sh"
# shellcheck source=modules.sh
source "$E2E_DIR/lib/modules.sh"
# shellcheck source=initramfs.sh
source "$E2E_DIR/lib/initramfs.sh"
# shellcheck source=qemu.sh
source "$E2E_DIR/lib/qemu.sh"
# shellcheck source=sysboot.sh
source "$E2E_DIR/lib/sysboot.sh"
# shellcheck source=fleet.sh
source "$E2E_DIR/lib/fleet.sh"

# testbed_prepare BIN_DIR RUN_DIR: kernel, modules and base initramfs from the cache (built on a cold run), the
# app layer from BIN_DIR, and the acceleration to use. Sets TB_KV, TB_VMLINUZ, TB_INITRD and TB_ACCEL (array).
# shellcheck disable=SC2034 # the TB_* globals are the result, used by the caller
testbed_prepare() {
  local bin=$1 run_dir=$2 b moddir base
  for b in livepatchd lpctl; do
    [ -x "$bin/$b" ] || e2e_msg "warning: $bin/$b is missing; scenarios that need it will fail"
  done
  TB_KV=$(kernel_release)
  kernel_prepare "$TB_KV"
  modules_prepare "$TB_KV"
  moddir=$(modules_dir "$TB_KV")
  base=$(initramfs_base "$TB_KV" "$moddir")
  mkdir -p "$run_dir"
  initramfs_app "$bin" "$run_dir/app.cpio.zst"
  TB_INITRD=$run_dir/initrd.img
  cat "$base" "$run_dir/app.cpio.zst" > "$TB_INITRD"
  rm -f "$run_dir/app.cpio.zst"
  TB_VMLINUZ=$(kernel_dir "$TB_KV")/vmlinuz
  local accel
  accel=$(qemu_accel_args "$TB_VMLINUZ" "$TB_INITRD")
  mapfile -t TB_ACCEL <<< "$accel"
}
