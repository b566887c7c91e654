#!/usr/bin/env bash
# Boots the guest under QEMU. Sourced after lib/common.sh and lib/kernel.sh.
#
# Acceleration: TCG (multi-threaded) works everywhere and is what these machines use. /dev/kvm can exist and
# still be unusable (a nested "PVM" kvm here makes QEMU abort or hang with a stock kernel), so KVM is used only
# after a probe boot really reached /init with it. The verdict is cached per host boot.
# LIVEPATCHAGENT_ACCEL=tcg|kvm skips the probe.

# shellcheck disable=SC2054 # the commas belong to one QEMU option value
E2E_TCG_ARGS=(-accel tcg,thread=multi -cpu max)
E2E_KVM_ARGS=(-accel kvm -cpu host)
E2E_QEMU_MEM=${LIVEPATCHAGENT_QEMU_MEM:-1024}
# One vCPU per VM, two VMs at once (run.sh -j 2) beat two vCPUs per VM on a 2-core host: a guest spends much
# of a scenario idle (transition retries, waits), and a second TCG vCPU thread costs more than it brings
# (6 scenarios: 56-59 s wall and 87 CPU-s with smp 1 / j 2; 83 s and 108 CPU-s with smp 2 / j 2; 167 s with
# smp 2 / j 1). See docs/testing.md.
E2E_QEMU_SMP=${LIVEPATCHAGENT_QEMU_SMP:-1}

# qemu_boot VMLINUZ INITRD RESULTS_DIR TIMEOUT_S CMDLINE_EXTRA ACCEL_ARG...
# Console (serial) output goes to stdout. Returns QEMU's status: 0 after the guest powered off (also after a
# panic: panic=-1 reboots at once and -no-reboot turns that into an exit), 124 when the timeout killed it.
qemu_boot() {
  local kernel=$1 initrd=$2 results=$3 tmo=$4 extra=$5
  shift 5
  mkdir -p "$results"
  # --foreground keeps QEMU in the caller's process group, so Ctrl-C reaches it like any other child.
  timeout --foreground -k 5 "$tmo" qemu-system-x86_64 \
    "$@" -smp "$E2E_QEMU_SMP" -m "$E2E_QEMU_MEM" \
    -nodefaults -display none -no-reboot -monitor none \
    -serial stdio \
    -kernel "$kernel" -initrd "$initrd" \
    -append "console=ttyS0 panic=-1 oops=panic quiet $extra" \
    -device virtio-rng-pci \
    -virtfs "local,path=$E2E_DIR,mount_tag=e2e,security_model=none,readonly=on,id=e2e" \
    -virtfs "local,path=$results,mount_tag=results,security_model=none,id=results" \
    < /dev/null
}

# qemu_accel_args VMLINUZ INITRD: print the acceleration arguments to use, one per line.
qemu_accel_args() {
  local kernel=$1 initrd=$2 mode=${LIVEPATCHAGENT_ACCEL:-}
  if [ -z "$mode" ]; then
    mode=tcg
    if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
      local boot_id cache
      boot_id=$(cat /proc/sys/kernel/random/boot_id)
      cache=$E2E_CACHE/accel/$boot_id
      if [ -f "$cache" ]; then
        mode=$(cat "$cache")
      else
        mode=$(_qemu_probe_kvm "$kernel" "$initrd")
        mkdir -p "$(dirname "$cache")"
        echo "$mode" > "$cache"
      fi
    fi
  fi
  case "$mode" in
    kvm) printf '%s\n' "${E2E_KVM_ARGS[@]}" ;;
    tcg) printf '%s\n' "${E2E_TCG_ARGS[@]}" ;;
    *) e2e_die "LIVEPATCHAGENT_ACCEL must be kvm or tcg, not '$mode'" ;;
  esac
}

# _qemu_probe_kvm VMLINUZ INITRD: "kvm" if a KVM boot reaches /init within 30 s, else "tcg".
_qemu_probe_kvm() {
  local tmp verdict=tcg
  tmp=$(mktemp -d)
  if qemu_boot "$1" "$2" "$tmp/results" 30 "" "${E2E_KVM_ARGS[@]}" > "$tmp/console.log" 2>&1 &&
    grep -q '### e2e-init: E2E-EXIT' "$tmp/console.log"; then
    verdict=kvm
  fi
  e2e_msg "accel: /dev/kvm probe -> $verdict"
  rm -rf "$tmp"
  echo "$verdict"
}
