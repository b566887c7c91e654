#!/usr/bin/env bash
# The guest kernel: the current Debian kernel ABI, fetched as a .deb (never installed on the host) and
# reduced to what a guest boot needs. Sourced after lib/common.sh.
#
# Cache layout, per kernel release:
#   $E2E_CACHE/kernel/$KV/vmlinuz
#   $E2E_CACHE/kernel/$KV/config                     the kernel's .config (copied into the guest's /boot)
#   $E2E_CACHE/kernel/$KV/lib/modules/$KV/...        only the virtio/9p closure, with its own depmod
#   $E2E_CACHE/kernel/$KV/.complete                  written last; a directory without it is never used
# The 70 MB .deb and its 400 MB extraction are thrown away: keeping ~15 MB makes a warm run skip both.

# In-tree modules the guest loads at boot; their dependencies are added from modules.dep.
# virtio_pci: the transport; 9pnet_virtio + 9p: the host shares; virtio_rng: entropy for the daemon.
E2E_GUEST_KMODS=(virtio_pci virtio_rng 9pnet_virtio 9p)

# kernel_release: the ABI linux-image-amd64 depends on right now (e.g. 6.1.0-56-amd64).
# LIVEPATCHAGENT_KERNEL_RELEASE pins another one (its headers must be installed).
kernel_release() {
  if [ -n "${LIVEPATCHAGENT_KERNEL_RELEASE:-}" ]; then
    echo "$LIVEPATCHAGENT_KERNEL_RELEASE"
    return
  fi
  local kv
  # apt-cache exits 100 on empty package lists; say so below instead of dying silently under pipefail.
  kv=$({ apt-cache depends linux-image-amd64 2>/dev/null || true; } |
    awk '/Depends: linux-image-[0-9]/ { sub("linux-image-", "", $2); print $2; exit }')
  [ -n "$kv" ] || e2e_die "cannot resolve the kernel from 'apt-cache depends linux-image-amd64' (run scripts/setup.sh)"
  echo "$kv"
}

kernel_dir() { echo "$E2E_CACHE/kernel/$1"; }

# kernel_prepare KV: make sure the reduced kernel tree for KV is in the cache (downloads on a cold run).
kernel_prepare() {
  local kv=$1
  [ -f "$(kernel_dir "$kv")/.complete" ] && return 0
  e2e_with_lock "kernel-$kv" _kernel_fetch "$kv"
}

# Runs in the subshell of e2e_with_lock, so its EXIT trap cleans up only this step.
_kernel_fetch() {
  local kv=$1 dest tmp t0
  dest=$(kernel_dir "$kv")
  # Another run may have finished it while we waited for the lock.
  [ -f "$dest/.complete" ] && return 0
  t0=$(e2e_now_us)
  mkdir -p "$E2E_CACHE/kernel"
  # Work in a temp dir on the same filesystem, then rename: an interrupted run leaves only a temp dir.
  # Leftovers of an interrupted run; safe to remove while we hold the lock for this release.
  rm -rf "$E2E_CACHE/kernel/.tmp-$kv".*
  tmp=$(mktemp -d "$E2E_CACHE/kernel/.tmp-$kv.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the variable is local and gone when the trap runs
  trap "rm -rf '$tmp'" EXIT

  e2e_msg "kernel: downloading linux-image-$kv"
  # apt-get download writes into the current directory; as root it warns that it runs unsandboxed.
  (cd "$tmp" && apt-get download -qq "linux-image-$kv" 2>&1) | { grep -v 'unsandboxed' >&2 || true; }
  local deb
  deb=$(find "$tmp" -maxdepth 1 -name "linux-image-${kv}_*.deb" | head -n1)
  [ -n "$deb" ] || e2e_die "kernel: cannot download linux-image-$kv; if the archive moved on, run 'apt-get update' and scripts/setup.sh (headers must match)"

  dpkg-deb -x "$deb" "$tmp/x"
  rm -f "$deb"
  [ -f "$tmp/x/boot/vmlinuz-$kv" ] || e2e_die "kernel: no boot/vmlinuz-$kv in linux-image-$kv"
  # The .deb ships no modules.dep (dpkg's postinst runs depmod), so compute it for the full tree once.
  depmod -b "$tmp/x" "$kv"

  local out=$tmp/out mods=$tmp/x/lib/modules/$kv
  mkdir -p "$out/lib/modules/$kv"
  cp "$tmp/x/boot/vmlinuz-$kv" "$out/vmlinuz"
  cp "$tmp/x/boot/config-$kv" "$out/config"
  local f
  for f in $(_kernel_closure "$mods/modules.dep" "${E2E_GUEST_KMODS[@]}"); do
    mkdir -p "$out/lib/modules/$kv/$(dirname "$f")"
    cp "$mods/$f" "$out/lib/modules/$kv/$f"
  done
  # modules.builtin* let modprobe treat built-in drivers as present instead of failing on them.
  cp "$mods"/modules.{order,builtin,builtin.modinfo} "$out/lib/modules/$kv/"
  depmod -b "$out" "$kv"
  touch "$out/.complete"

  rm -rf "$dest"
  mv "$out" "$dest"
  e2e_msg "kernel: $kv cached in $dest ($(du -sh "$dest" | cut -f1), $(e2e_elapsed "$t0"))"
}

# _kernel_closure MODULES.DEP NAME...: relative paths of the named modules and everything they depend on.
_kernel_closure() {
  local dep=$1; shift
  awk -v want="$*" '
    function base(p,   b) { b = p; sub(/.*\//, "", b); sub(/\.ko.*$/, "", b); gsub(/-/, "_", b); return b }
    BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) { x = w[i]; gsub(/-/, "_", x); wanted[x] = 1 } }
    {
      path = $1; sub(/:$/, "", path)
      if (!(base(path) in wanted)) next
      found[base(path)] = 1
      print path
      for (i = 2; i <= NF; i++) print $i
    }
    END { for (x in wanted) if (!(x in found)) { print "missing module " x > "/dev/stderr"; exit 1 } }
  ' "$dep" | sort -u
}
