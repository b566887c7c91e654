#!/usr/bin/env bash
# Builds and signs the e2e test modules (tests/e2e/modules) against the installed headers of KV.
# Sourced after lib/common.sh. The result is cached by a hash of the sources, this script, KV and the
# headers version, so a warm run does no compiling at all.
#
# Output directory (modules_dir KV), flat, every .ko stripped of debug info:
#   lpdemo_{v1,v2,v3,v4,stack,refuse,warn,sleeper,notlp,noisy}.ko         unsigned
#   lpdemo_{v1,v2,v3,v4,stack,refuse,warn,sleeper,notlp,noisy}.signed.ko  signed with the "trusted" key (the daemon trusts trusted.pem)
#   lpdemo_{v1,v2,v3,v4,stack,refuse,warn}.untrusted.ko                   signed with the "untrusted" key
#   lpdemo_v1.tampered.ko                           lpdemo_v1.signed.ko with one .modinfo byte changed afterwards
#   lpdemo_v1.badvermagic{,.signed}.ko              vermagic release altered (same length), re-signed (trusted)
#   lpdemo_v2.signed.ko.{zst,xz,gz}                 compressed signed module
#   {trusted,untrusted}.{pem,der,key}               test certificates (PEM and DER) and their private keys
#   manifest.txt                                    KV, the altered release, sha256 of every file
# Neither key is in the guest kernel's keyring: the kernel taints every one of these modules E, and rejects
# all of them under module.sig_enforce=1. "Trusted" only means trusted by livepatchd.

E2E_LIVEPATCHES=(lpdemo_v1 lpdemo_v2 lpdemo_v3 lpdemo_v4 lpdemo_stack lpdemo_refuse lpdemo_warn)
E2E_ALL_MODULES=("${E2E_LIVEPATCHES[@]}" lpdemo_sleeper lpdemo_notlp lpdemo_noisy)

# modules_dir KV: where the build for KV with the current sources lives (may not exist yet).
modules_dir() {
  local kv=$1 headers_version
  headers_version=$(dpkg-query -W -f='${Version}' "linux-headers-$kv" 2>/dev/null || echo none)
  echo "$E2E_CACHE/modules/$kv-$(e2e_hash_inputs "$E2E_DIR/modules" "${BASH_SOURCE[0]}" "$kv" "$headers_version")"
}

# modules_prepare KV: build, sign and cache the modules for KV unless an identical build is cached.
modules_prepare() {
  local kv=$1 dir
  dir=$(modules_dir "$kv")
  [ -f "$dir/manifest.txt" ] && return 0
  [ -d "/lib/modules/$kv/build" ] || e2e_die "modules: linux-headers-$kv is not installed (run scripts/setup.sh)"
  e2e_with_lock "modules-$kv" _modules_build "$kv" "$dir"
}

# The kbuild package's sign-file (linux-kbuild-6.1 on bookworm); found by glob so a new series works too.
_modules_sign_file() {
  local f
  for f in /usr/lib/linux-kbuild-*/scripts/sign-file "/lib/modules/$1/build/scripts/sign-file"; do
    [ -x "$f" ] && { echo "$f"; return; }
  done
  e2e_die "modules: sign-file not found (linux-kbuild package missing?)"
}

# Runs in the subshell of e2e_with_lock, so its EXIT trap cleans up only this step.
_modules_build() {
  local kv=$1 dest=$2 tmp t0 sign_file
  [ -f "$dest/manifest.txt" ] && return 0
  t0=$(e2e_now_us)
  sign_file=$(_modules_sign_file "$kv")
  mkdir -p "$E2E_CACHE/modules"
  # Leftovers of an interrupted run; safe to remove while we hold the lock for this release.
  rm -rf "$E2E_CACHE/modules/.tmp-$kv".*
  tmp=$(mktemp -d "$E2E_CACHE/modules/.tmp-$kv.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the variable is local and gone when the trap runs
  trap "rm -rf '$tmp'" EXIT
  local src=$tmp/src out=$tmp/out
  mkdir -p "$out"
  # kbuild writes its objects next to the sources, so build a private copy.
  cp -r "$E2E_DIR/modules" "$src"
  e2e_msg "modules: building ${E2E_ALL_MODULES[*]} for $kv"
  make -s -C "/lib/modules/$kv/build" M="$src" modules > "$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log" >&2; e2e_die "modules: build failed"; }

  local m
  for m in "${E2E_ALL_MODULES[@]}"; do
    # The guest has no use for the ~250 KB of debug info per module; Debian strips its own modules the same way.
    strip --strip-debug -o "$out/$m.ko" "$src/$m.ko"
  done

  _modules_keygen "$tmp" trusted "LivePatchAgent e2e trusted test signing key"
  _modules_keygen "$tmp" untrusted "LivePatchAgent e2e untrusted test signing key"
  cp "$tmp"/trusted.{pem,der,key} "$tmp"/untrusted.{pem,der,key} "$out/"

  for m in "${E2E_ALL_MODULES[@]}"; do
    "$sign_file" sha256 "$tmp/trusted.key" "$tmp/trusted.pem" "$out/$m.ko" "$out/$m.signed.ko"
  done
  for m in "${E2E_LIVEPATCHES[@]}"; do
    "$sign_file" sha256 "$tmp/untrusted.key" "$tmp/untrusted.pem" "$out/$m.ko" "$out/$m.untrusted.ko"
  done

  # Tampered: the signed bytes change after signing (same size, still a well-formed ELF), so only a real
  # signature check can tell.
  _modules_replace_same_length "$out/lpdemo_v1.signed.ko" "$out/lpdemo_v1.tampered.ko" \
    "e2e test livepatch" "e2e TEST livepatch"

  # Altered vermagic: the release differs from the running kernel's but keeps its length, so .modinfo stays
  # intact. The kernel itself ignores the release when modversions are present; only the daemon can refuse it.
  local alt_kv
  if [ "${kv:0:1}" = 9 ]; then alt_kv="8${kv:1}"; else alt_kv="9${kv:1}"; fi
  _modules_replace_same_length "$out/lpdemo_v1.ko" "$out/lpdemo_v1.badvermagic.ko" "vermagic=$kv " "vermagic=$alt_kv "
  [ "$(modinfo -F vermagic "$out/lpdemo_v1.badvermagic.ko" | cut -d' ' -f1)" = "$alt_kv" ] ||
    e2e_die "modules: vermagic of lpdemo_v1.badvermagic.ko was not altered"
  "$sign_file" sha256 "$tmp/trusted.key" "$tmp/trusted.pem" "$out/lpdemo_v1.badvermagic.ko" \
    "$out/lpdemo_v1.badvermagic.signed.ko"

  zstd -q -19 -o "$out/lpdemo_v2.signed.ko.zst" "$out/lpdemo_v2.signed.ko"
  xz --check=crc32 --lzma2=dict=1MiB -c "$out/lpdemo_v2.signed.ko" > "$out/lpdemo_v2.signed.ko.xz"
  gzip -9n -c "$out/lpdemo_v2.signed.ko" > "$out/lpdemo_v2.signed.ko.gz"

  # Every signed module must really carry the appended-signature marker; a silent sign-file failure would
  # turn later "untrusted-signer" tests into "unsigned-module" ones.
  local f
  for f in "$out"/*.signed.ko "$out"/*.untrusted.ko "$out"/lpdemo_v1.tampered.ko; do
    [ "$(tail -c 28 "$f")" = "~Module signature appended~" ] || e2e_die "modules: $f is not signed"
  done

  {
    echo "kernel-release: $kv"
    echo "altered-release: $alt_kv"
    echo "sign-file: $sign_file"
    (cd "$out" && sha256sum -- *)
  } > "$out/manifest.txt.tmp"
  mv "$out/manifest.txt.tmp" "$out/manifest.txt"

  rm -rf "$dest"
  mv "$out" "$dest"
  e2e_msg "modules: built and signed in $(e2e_elapsed "$t0") -> $dest"
}

# _modules_keygen DIR NAME CN: a self-signed RSA-2048 code-signing certificate as DIR/NAME.{pem,der,key}.
_modules_keygen() {
  local dir=$1 name=$2 cn=$3
  sed "s/@CN@/$cn/" "$E2E_DIR/modules/x509.genkey" > "$dir/$name.genkey"
  openssl req -new -nodes -utf8 -sha256 -days 3650 -batch -x509 -config "$dir/$name.genkey" \
    -outform PEM -out "$dir/$name.pem" -keyout "$dir/$name.key" 2> /dev/null
  openssl x509 -in "$dir/$name.pem" -outform DER -out "$dir/$name.der"
}

# _modules_replace_same_length IN OUT FROM TO: copy IN to OUT with the single occurrence of FROM replaced
# by TO (same length, so every ELF offset stays valid).
_modules_replace_same_length() {
  local in=$1 out=$2 from=$3 to=$4
  [ "${#from}" = "${#to}" ] || e2e_die "modules: '$from' and '$to' differ in length"
  FROM=$from TO=$to perl -0777 -pe '
    my $n = () = /\Q$ENV{FROM}\E/g;
    die "expected exactly one \"$ENV{FROM}\", found $n\n" unless $n == 1;
    s/\Q$ENV{FROM}\E/$ENV{TO}/;
  ' "$in" > "$out"
  cmp -s "$in" "$out" && e2e_die "modules: $out is identical to $in"
  return 0
}
