#!/usr/bin/env bash
# The guest's initramfs, in two layers that the kernel unpacks one after the other (it accepts concatenated
# cpio archives, each compressed on its own):
#   base  busybox, the guest /init, the virtio/9p kernel modules, the test modules under /lp, glibc and the
#         libraries the daemon dlopens, jq, users. Cached in $E2E_CACHE/initramfs by a hash of its inputs.
#   app   livepatchd and lpctl from --bin (plus their own library closure). Rebuilt for every run: it changes
#         with every daemon build and takes a fraction of a second.
# Scenario scripts and guest/lib.sh are not in either layer: they come over a read-only 9p share, so editing a
# scenario never rebuilds anything. Sourced after lib/common.sh, lib/kernel.sh and lib/modules.sh.

# Host libraries the guest needs beyond what ldd reports: .NET dlopens OpenSSL for X.509/PKCS#7 work.
E2E_DLOPEN_LIBS=(libssl.so.3 libcrypto.so.3)

# Guest accounts. lpuser is an unprivileged local user (read-only access); lpadm is in the lpadmin group for
# tests of a configured admin group.
E2E_PASSWD='root:x:0:0:root:/root:/bin/sh
lpuser:x:1000:1000:e2e unprivileged user:/home/lpuser:/bin/sh
lpadm:x:1001:1001:e2e admin-group user:/home/lpadm:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false'
E2E_GROUP='root:x:0:
lpuser:x:1000:
lpadm:x:1001:
lpadmin:x:1002:lpadm
nogroup:x:65534:'

# host_lib_path NAME: absolute path of a shared library on the host, as the dynamic loader would find it.
host_lib_path() {
  ldconfig -p | awk -v n="$1" '$1 == n && /x86-64/ { print $NF; exit }'
}

# host_closure FILE...: FILE plus every shared library it needs (per ldd), one absolute path per line.
# A static binary (busybox-static) has no libraries; ldd then prints "not a dynamic executable".
host_closure() {
  local f
  for f in "$@"; do
    [ -e "$f" ] || e2e_die "initramfs: $f not found on the host"
    echo "$f"
    ldd "$f" 2> /dev/null | awk '
      /=> \// { print $3; next }
      /^[[:space:]]*\/[^ ]*ld-linux/ { print $1 }' || true
  done | sort -u
}

# stage_host_files STAGE FILE...: copy each file (symlinks resolved) to the same path under STAGE.
stage_host_files() {
  local stage=$1 f; shift
  for f in "$@"; do
    mkdir -p "$stage$(dirname "$f")"
    cp -L "$f" "$stage$f"
  done
}

# pack_cpio STAGE OUT: newc cpio of STAGE, zstd-compressed (the Debian kernel has RD_ZSTD=y), atomically.
# Every file is owned by root in the guest, whoever builds it (-R 0:0); guest/init creates the users' homes.
# The stage root itself is left out: unpacked over an earlier layer, a "." entry would set the mode of the
# guest's / to that of a mktemp directory (0700) and lock every non-root user out.
pack_cpio() {
  local stage=$1 out=$2
  (cd "$stage" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) |
    zstd -q -T0 -3 > "$out.tmp"
  mv "$out.tmp" "$out"
}

_initramfs_base_host_files() {
  local libs=() l p
  for l in "${E2E_DLOPEN_LIBS[@]}"; do
    p=$(host_lib_path "$l")
    [ -n "$p" ] || e2e_die "initramfs: $l not found on the host (install libssl3)"
    libs+=("$p")
  done
  host_closure /bin/busybox "$(command -v jq)" "${libs[@]}"
}

# initramfs_base KV MODULES_DIR: print the path of the cached base layer, building it if needed.
initramfs_base() {
  local kv=$1 moddir=$2 list files key out
  list=$(_initramfs_base_host_files)
  mapfile -t files <<< "$list"
  key=$(e2e_hash_inputs "${BASH_SOURCE[0]}" "$E2E_DIR/guest/init" "$kv" "$moddir" "${files[*]}" "${files[@]}" \
    "$E2E_PASSWD" "$E2E_GROUP")
  out=$E2E_CACHE/initramfs/base-$kv-$key.cpio.zst
  if [ ! -f "$out" ]; then
    e2e_with_lock "initramfs" _initramfs_build_base "$kv" "$moddir" "$out" "${files[@]}"
  fi
  echo "$out"
}

# Runs in the subshell of e2e_with_lock, so its EXIT trap cleans up only this step.
_initramfs_build_base() {
  local kv=$1 moddir=$2 out=$3 st t0; shift 3
  [ -f "$out" ] && return 0
  t0=$(e2e_now_us)
  mkdir -p "$(dirname "$out")"
  # Leftovers of an interrupted run; safe to remove while we hold the initramfs lock.
  rm -rf "$E2E_CACHE/initramfs/.stage".* "$E2E_CACHE/initramfs/"*.tmp
  st=$(mktemp -d "$E2E_CACHE/initramfs/.stage.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the variable is local and gone when the trap runs
  trap "rm -rf '$st'" EXIT

  mkdir -p "$st"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,mnt/e2e,results,lp,boot,etc/livepatchd/trusted.d,var/lib,var/log}
  stage_host_files "$st" "$@"
  # busybox provides every other command, one symlink per applet.
  local a
  for a in $(/bin/busybox --list); do
    [ -e "$st/bin/$a" ] || ln -s busybox "$st/bin/$a"
  done

  local kdir
  kdir=$(kernel_dir "$kv")
  cp -r "$kdir/lib/modules" "$st/lib/"
  cp "$kdir/config" "$st/boot/config-$kv"
  cp "$moddir"/* "$st/lp/"

  install -m 0755 "$E2E_DIR/guest/init" "$st/init"
  printf '%s\n' "$E2E_PASSWD" > "$st/etc/passwd"
  printf '%s\n' "$E2E_GROUP" > "$st/etc/group"
  printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' > "$st/etc/nsswitch.conf"
  printf '127.0.0.1 localhost\n::1 localhost\n' > "$st/etc/hosts"
  echo e2e-guest > "$st/etc/hostname"
  chmod 1777 "$st/tmp"

  pack_cpio "$st" "$out"
  e2e_msg "initramfs: base layer built in $(e2e_elapsed "$t0") ($(du -h "$out" | cut -f1)) -> $out"
}

# initramfs_app BIN_DIR OUT: the app layer: livepatchd and lpctl from BIN_DIR (whichever exist) in /usr/bin,
# with any native libraries published beside them (.NET looks for those next to the executable), plus every
# host library they link (most are in the base layer already; the later archive simply overwrites them).
initramfs_app() {
  local bin=$1 out=$2 st f found=()
  st=$(mktemp -d)
  mkdir -p "$st/usr/bin"
  for f in "$bin/livepatchd" "$bin/lpctl" "$bin"/*.so; do
    [ -f "$f" ] || continue
    install -m 0755 "$f" "$st/usr/bin/"
    found+=("$f")
  done
  if [ "${#found[@]}" -gt 0 ]; then
    local list libs
    list=$(host_closure "${found[@]}" | grep -vxF -f <(printf '%s\n' "${found[@]}") || true)
    mapfile -t libs <<< "$list"
    [ -z "$list" ] || stage_host_files "$st" "${libs[@]}"
  fi
  pack_cpio "$st" "$out"
  rm -rf "$st"
}
