#!/usr/bin/env bash
# The systemd boot of the e2e bed: a minimal Debian bookworm (systemd as PID 1, dbus, kmod) on a virtio disk,
# booted with the test bed's kernel, into which a scenario installs the built livepatchd .deb with dpkg -i, and
# patch packages of the signed test modules built on the host before the boot (packaging/patch/build.sh).
# Sourced after lib/common.sh, lib/kernel.sh, lib/modules.sh and lib/qemu.sh.
#
# The image is built once and cached ($E2E_CACHE/sysimage/<key>/): debootstrap (from the mirror of this
# machine's own apt sources, read at run time), the kernel package of the test bed's release installed with
# dpkg (its initramfs-tools initrd loads virtio_blk and ext4: both are modules in the Debian kernel), and an
# ext4 file system made from the tree with mkfs.ext4 -d, without mounting anything. Every scenario run writes
# to a qcow2 overlay of that image of its own, so the cached image is never modified.
#
# A scenario with the header "# boot: systemd" runs here instead of in the initramfs guest: boot 1 runs it
# with E2E_BOOT=1 and ends with "systemctl reboot"; QEMU runs with -no-reboot, so the reset ends QEMU and the
# host boots the same disk again for E2E_BOOT=2, which ends with "systemctl poweroff".

E2E_SYSIMAGE_SUITE=bookworm
# systemd-sysv makes systemd PID 1; udev creates /dev/vda and loads the virtio and 9p drivers; libssl3 is
# dlopened by the daemon; jq is for guest/lib.sh; initramfs-tools and linux-base are what the kernel package
# needs; zstd compresses its initrd. prometheus-node-exporter serves the daemon's textfile metrics (issue 17);
# openssh-server and python3 make the guest an Ansible host (issue 19).
E2E_SYSIMAGE_PACKAGES=(systemd systemd-sysv dbus kmod udev libssl3 jq initramfs-tools linux-base zstd
  prometheus-node-exporter openssh-server python3)
E2E_SYSIMAGE_SIZE=3G

# The guest's first step after the boot: a oneshot unit that mounts the e2e share and hands over to
# guest/sysboot.sh there, so that editing the guest scripts never rebuilds the image.
E2E_SYSIMAGE_UNIT='[Unit]
Description=LivePatchAgent e2e scenario (tests/e2e/guest/sysboot.sh)
After=multi-user.target

[Service]
Type=oneshot
StandardOutput=journal+console
StandardError=journal+console
ExecStart=/bin/sh -c "modprobe -a 9pnet_virtio 9p && mkdir -p /mnt/e2e && mount -t 9p -o trans=virtio,version=9p2000.L,ro e2e /mnt/e2e && exec sh /mnt/e2e/guest/sysboot.sh || systemctl poweroff"

[Install]
WantedBy=multi-user.target'

# sysimage_mirror: the URI of this machine's apt source for $E2E_SYSIMAGE_SUITE (deb822 .sources files, then
# one-line .list files). Never written into the repository: the machine knows its mirror.
sysimage_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$E2E_SYSIMAGE_SUITE" '
      function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uri != "" && !found) { print uri; found = 1 } types = suites = uri = "" }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      /^Types:/ { sub(/^Types:[[:space:]]*/, ""); types = $0 }
      /^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); suites = $0 }
      /^URIs:/ { sub(/^URIs:[[:space:]]*/, ""); split($0, u, /[[:space:]]+/); uri = u[1] }
      END { flush() }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return 0; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [options] URI SUITE COMPONENT...
    uri=$(awk -v suite="$E2E_SYSIMAGE_SUITE" '
      $1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i + 1) == suite) { print $i; exit } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return 0; }
  done
  e2e_die "sysimage: no apt source for $E2E_SYSIMAGE_SUITE in /etc/apt/sources.list{,.d/*.list,.d/*.sources}"
}

# sysimage_dir KV: the cache directory of the image for KV with the current recipe (may not exist yet).
sysimage_dir() {
  local kv=$1 kernel_version
  # The version of the kernel package; the headers the test modules are built against have the same one.
  kernel_version=$(dpkg-query -W -f='${Version}' "linux-headers-$kv" 2> /dev/null || echo none)
  # Keyed by the recipe alone (the build function's own text and its settings), so that editing the boot side of
  # this file does not cost a new debootstrap.
  echo "$E2E_CACHE/sysimage/$E2E_SYSIMAGE_SUITE-$kv-$(e2e_hash_inputs "$kv" "$kernel_version" "$E2E_SYSIMAGE_SUITE" \
    "${E2E_SYSIMAGE_PACKAGES[*]}" "$E2E_SYSIMAGE_UNIT" "$E2E_SYSIMAGE_SIZE" "$(declare -f _sysimage_build)")"
}

# sysimage_prepare KV: build and cache the image for KV unless it is cached; prints its directory, which holds
# root.img (raw ext4), initrd.img (the image's own initramfs-tools initrd) and .complete.
sysimage_prepare() {
  local kv=$1 dir
  dir=$(sysimage_dir "$kv")
  if [ ! -f "$dir/.complete" ]; then
    e2e_with_lock "sysimage-$kv" _sysimage_build "$kv" "$dir" >&2
  fi
  echo "$dir"
}

# Runs in the subshell of e2e_with_lock, so its EXIT trap cleans up only this step.
_sysimage_build() {
  local kv=$1 dest=$2 tmp t0 mirror deb t
  [ -f "$dest/.complete" ] && return 0
  for t in debootstrap mkfs.ext4 qemu-img; do
    command -v "$t" > /dev/null || e2e_die "sysimage: $t is missing (run scripts/setup.sh)"
  done
  t0=$(e2e_now_us)
  mkdir -p "$E2E_CACHE/sysimage"
  # Leftovers of an interrupted run; safe to remove while we hold the lock for this release.
  _sysimage_remove_tree "$E2E_CACHE/sysimage/.tmp-$kv".*
  tmp=$(mktemp -d "$E2E_CACHE/sysimage/.tmp-$kv.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the variable is local and gone when the trap runs
  trap "_sysimage_remove_tree '$tmp'" EXIT
  mirror=$(sysimage_mirror)
  e2e_msg "sysimage: debootstrap $E2E_SYSIMAGE_SUITE from $mirror (a few minutes, once per kernel release)"
  local packages
  packages=$(IFS=,; echo "${E2E_SYSIMAGE_PACKAGES[*]}")
  debootstrap --variant=minbase --include="$packages" "$E2E_SYSIMAGE_SUITE" "$tmp/root" "$mirror" > "$tmp/debootstrap.log" 2>&1 ||
    { tail -n 30 "$tmp/debootstrap.log" >&2; e2e_die "sysimage: debootstrap failed (log above)"; }

  # The kernel package of the test bed's release: the same vmlinuz the other scenarios boot, with all its modules
  # in /lib/modules (the daemon reads the running kernel's module vermagic). Its initrd needs only the root disk.
  mkdir -p "$tmp/root/etc/initramfs-tools/conf.d"
  printf 'MODULES=list\nCOMPRESS=zstd\n' > "$tmp/root/etc/initramfs-tools/conf.d/livepatchagent-e2e.conf"
  printf '%s\n' virtio_pci virtio_blk ext4 crc32c_generic >> "$tmp/root/etc/initramfs-tools/modules"
  (cd "$tmp" && apt-get download -qq "linux-image-$kv" 2>&1) | { grep -v 'unsandboxed' >&2 || true; }
  deb=$(cd "$tmp" && find . -maxdepth 1 -name "linux-image-${kv}_*.deb" | head -n1)
  [ -n "$deb" ] || e2e_die "sysimage: cannot download linux-image-$kv"
  mv "$tmp/$deb" "$tmp/root/tmp/"
  chroot "$tmp/root" dpkg -i "/tmp/$deb" > "$tmp/kernel.log" 2>&1 ||
    { tail -n 30 "$tmp/kernel.log" >&2; e2e_die "sysimage: installing linux-image-$kv failed (log above)"; }
  rm -f "$tmp/root/tmp/$deb"
  [ -f "$tmp/root/boot/initrd.img-$kv" ] || e2e_die "sysimage: no /boot/initrd.img-$kv after installing the kernel"

  echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' > "$tmp/root/etc/fstab"
  echo lpguest > "$tmp/root/etc/hostname"
  printf '%s\n' "$E2E_SYSIMAGE_UNIT" > "$tmp/root/etc/systemd/system/livepatchagent-e2e.service"
  ln -s /etc/systemd/system/livepatchagent-e2e.service \
    "$tmp/root/etc/systemd/system/multi-user.target.wants/livepatchagent-e2e.service"
  # No interactive first-boot questions on the console.
  ln -s /dev/null "$tmp/root/etc/systemd/system/systemd-firstboot.service"
  chroot "$tmp/root" apt-get clean

  mkdir -p "$tmp/out"
  cp "$tmp/root/boot/initrd.img-$kv" "$tmp/out/initrd.img"
  truncate -s "$E2E_SYSIMAGE_SIZE" "$tmp/out/root.img"
  mkfs.ext4 -q -F -L lproot -d "$tmp/root" "$tmp/out/root.img"
  touch "$tmp/out/.complete"
  rm -rf "$dest"
  mv "$tmp/out" "$dest"
  e2e_msg "sysimage: $E2E_SYSIMAGE_SUITE for $kv cached in $dest ($(du -sh "$dest" | cut -f1) used, $(e2e_elapsed "$t0"))"
}

# _sysimage_remove_tree DIR...: remove a build tree that a chroot may still have mounts in (an interrupted
# debootstrap leaves proc and sys mounted); never crosses into another file system.
_sysimage_remove_tree() {
  local d m
  for d in "$@"; do
    [ -d "$d" ] || continue
    awk -v d="$d/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
      umount -l "$m" 2> /dev/null || true
    done
    rm -rf --one-file-system "$d"
  done
}

# sysboot_run NAME DIR TIMEOUT DEB ACCEL_ARG...: run scenario NAME in the systemd guest: boot 1, then (if boot 1
# completed its run) boot 2 on the same disk. Console in DIR/console.log, guest results in DIR/results (the
# result of boot 1 is kept as result.boot1). Returns QEMU's status of the last boot.
sysboot_run() {
  local name=$1 dir=$2 tmo=$3 deb=$4 rc boot after
  shift 4
  [ -n "$TB_SYSIMAGE" ] || e2e_die "sysboot: the image was not prepared"
  mkdir -p "$dir/results" "$dir/pkg"
  if [ ! -f "$deb" ]; then
    echo "no livepatchd .deb to install (make deb, or run.sh --deb FILE)" >> "$dir/results/failures"
    return 1
  fi
  cp "$deb" "$dir/pkg/livepatchd.deb"
  local moddir
  moddir=$(modules_dir "$TB_KV")
  cp "$moddir/lpdemo_v1.signed.ko" "$moddir/trusted.pem" "$dir/pkg/"
  # Patch packages (packaging/patch/build.sh) of one series: lpdemo_v1 as livepatch-lpdemo-KV 1.1-1, and the
  # cumulative lpdemo_v2 (replace=Y) as its upgrade 1.2-1.
  local v
  for v in 1 2; do
    bash "$REPO_ROOT/packaging/patch/build.sh" --module "$moddir/lpdemo_v$v.signed.ko" --release "$TB_KV" \
      --name lpdemo --deb --out "$dir/pkg" >> "$dir/patch-packages.log" 2>&1 || {
      echo "packaging/patch/build.sh failed for lpdemo_v$v: $(tail -n1 "$dir/patch-packages.log")" >> "$dir/results/failures"
      return 1
    }
  done
  qemu-img create -q -f qcow2 -b "$TB_SYSIMAGE/root.img" -F raw "$dir/disk.qcow2"
  for boot in 1 2; do
    after=reboot
    [ "$boot" = 2 ] && after=poweroff
    printf 'E2E_SCENARIO=scenarios/%s.sh\nE2E_BOOT=%s\nE2E_AFTER=%s\n' "$name" "$boot" "$after" > "$dir/pkg/e2e.env"
    echo "### host: boot $boot of $name" >> "$dir/console.log"
    rc=0
    qemu_boot "$TB_VMLINUZ" "$TB_SYSIMAGE/initrd.img" "$dir/results" "$tmo" "root=/dev/vda rw" "$@" \
      -drive "file=$dir/disk.qcow2,if=virtio,format=qcow2" \
      -virtfs "local,path=$dir/pkg,mount_tag=pkg,security_model=none,readonly=on,id=pkg" \
      >> "$dir/console.log" 2>&1 || rc=$?
    # Boot 2 only after boot 1 ran its part to the end; its checks stay in results/checks.
    [ "$boot" = 1 ] || break
    if [ "$rc" != 0 ] || ! grep -q '^status=0$' "$dir/results/result" 2> /dev/null; then
      break
    fi
    mv "$dir/results/result" "$dir/results/result.boot1"
  done
  rm -f "$dir/disk.qcow2"
  return "$rc"
}
