#!/usr/bin/env bash
# patch-package.sh: host test of packaging/patch/build.sh (docs/fleet.md, "Patch packages"). Builds .deb and .rpm
# patch packages from the e2e bed's signed test modules (tests/e2e/lib/modules.sh: built and cached once per
# kernel release), checks them with lintian, dpkg-deb and rpm -qp, checks the refusals, and runs the agent
# package's trigger and the RPM's %posttrans with a stand-in lpctl. Ends with "patch packages: N passed, N failed".
#
#   bash tests/packaging/patch-package.sh
# shellcheck source-path=SCRIPTDIR/../e2e/lib
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname "$0")/../e2e/lib/common.sh"
# shellcheck source=kernel.sh
source "$E2E_DIR/lib/kernel.sh"
# shellcheck source=modules.sh
source "$E2E_DIR/lib/modules.sh"

build=$REPO_ROOT/packaging/patch/build.sh
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1${2:+: $2}"; }
# check DESC EXPECTED ACTUAL / check_contains DESC NEEDLE HAYSTACK
check() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi; }
check_contains() { case "$3" in *"$2"*) pass "$1" ;; *) fail "$1" "no '$2' in '$(echo "$3" | head -c 400)'" ;; esac; }

for t in dpkg-deb lintian rpmbuild rpm rpm2cpio cpio modinfo; do
  command -v "$t" > /dev/null || e2e_die "patch packages: $t is missing (run scripts/setup.sh)"
done
kv=$(kernel_release)
modules_prepare "$kv"
mods=$(modules_dir "$kv")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$work/out
store=usr/lib/livepatchd/patches/$kv
name=livepatch-lpdemo-$kv
deb=$out/${name}_1.1-1_amd64.deb
rpm=$out/$name-1.1-1.x86_64.rpm

# --- the .deb and .rpm of lpdemo_v1 (a plain patch), series "lpdemo"
if "$build" --module "$mods/lpdemo_v1.signed.ko" --release "$kv" --name lpdemo --out "$out" --lintian > "$work/build.log" 2>&1; then
  pass "build.sh builds lpdemo_v1 as $name"
else
  fail "build.sh builds lpdemo_v1" "$(tail -n 20 "$work/build.log")"
fi
check "lintian: 0 errors" "0" "$(grep -c '^E: ' "$out/lintian-$name.txt" || true)"
check "lintian: 0 warnings (the one override is inside the package)" "0" "$(grep -c '^W: ' "$out/lintian-$name.txt" || true)"
check_contains "build.sh prints lintian's summary" "0 error(s), 0 warning(s)" "$(cat "$work/build.log")"

field() { dpkg-deb -f "$deb" "$1" 2> /dev/null; }
check "deb: Package" "$name" "$(field Package)"
check "deb: Version 1.<livepatch_level>-1" "1.1-1" "$(field Version)"
check "deb: Architecture" amd64 "$(field Architecture)"
check "deb: Depends on the agent and the exact kernel" "livepatchd, linux-image-$kv" "$(field Depends)"
check "deb: Section" kernel "$(field Section)"
desc=$(field Description)
check "deb: synopsis" "live patch lpdemo_v1 for Linux $kv" "$(echo "$desc" | head -n1)"
check_contains "deb: description has the summary" "a made-up fix that shows a banner in /proc/cmdline" "$desc"
check_contains "deb: description has the CVE ids" "CVE-2099-0001, CVE-2099-0002" "$desc"
contents=$(dpkg-deb --contents "$deb" | awk '{ print $NF }')
check_contains "deb: the module in the vendor store" "./$store/lpdemo_v1.ko" "$contents"
check_contains "deb: the sidecar in the vendor store" "./$store/lpdemo_v1.vendor.json" "$contents"
check "deb: nothing outside the vendor store, the doc and the lintian override" "" \
  "$(echo "$contents" | grep -v -e "^./usr/lib/livepatchd/patches/" -e "^./usr/share/doc/$name/" \
    -e "^./usr/share/lintian/overrides/" -e '/$' || true)"
mkdir -p "$work/deb"
dpkg-deb -R "$deb" "$work/deb"
if cmp -s "$mods/lpdemo_v1.signed.ko" "$work/deb/$store/lpdemo_v1.ko"; then
  pass "deb: the module is the signed file, byte for byte"
else
  fail "deb: the module is the signed file, byte for byte"
fi
check "deb: the sidecar" "{\"package\": \"$name\", \"version\": \"1.1-1\"}" "$(cat "$work/deb/$store/lpdemo_v1.vendor.json")"
changelog=$(zcat "$work/deb/usr/share/doc/$name/changelog.Debian.gz")
check_contains "deb: changelog entry" "$name (1.1-1) unstable; urgency=medium" "$changelog"
check_contains "deb: changelog has the CVE ids" "Fixes CVE-2099-0001, CVE-2099-0002." "$changelog"
check_contains "deb: copyright names the GPL" "License: GPL-2+" "$(cat "$work/deb/usr/share/doc/$name/copyright")"
check_contains "deb: postrm says the patch stays loaded" \
  "livepatch: lpdemo_v1 stays loaded in the running kernel until 'lpctl unload lpdemo_v1' or a reboot" \
  "$(cat "$work/deb/DEBIAN/postrm")"
check "deb: postrm remove with the patch not loaded here: silent, exit 0" "0:" \
  "$(rc=0; o=$(sh "$work/deb/DEBIAN/postrm" remove 2>&1) || rc=$?; echo "$rc:$o")"

# --- the .rpm
check "rpm: name, version, arch" "$name 1.1-1 x86_64" "$(rpm -qp --qf '%{NAME} %{VERSION}-%{RELEASE} %{ARCH}' "$rpm" 2> /dev/null)"
check "rpm: files" "/$store /$store/lpdemo_v1.ko /$store/lpdemo_v1.vendor.json" "$(rpm -qpl "$rpm" 2> /dev/null | tr '\n' ' ' | sed 's/ $//')"
requires=$(rpm -qpR "$rpm" 2> /dev/null)
check_contains "rpm: Requires livepatchd" livepatchd "$requires"
# A Debian-style release (two '-') is no RPM version: the kernel's own file stands for kernel-uname-r.
if [[ "$kv" == *-*-* ]]; then
  check_contains "rpm: Requires the exact kernel (by its vmlinuz)" "/lib/modules/$kv/vmlinuz" "$requires"
else
  check_contains "rpm: Requires the exact kernel" "kernel-uname-r = $kv" "$requires"
fi
info=$(rpm -qpi "$rpm" 2> /dev/null)
check_contains "rpm: description has the CVE ids" "CVE-2099-0001, CVE-2099-0002" "$info"
check_contains "rpm: changelog has the CVE ids" "Fixes CVE-2099-0001, CVE-2099-0002." "$(rpm -qp --changelog "$rpm" 2> /dev/null)"
(cd "$work" && mkdir rpmroot && cd rpmroot && rpm2cpio "$rpm" | cpio -idm --quiet)
if cmp -s "$mods/lpdemo_v1.signed.ko" "$work/rpmroot/$store/lpdemo_v1.ko"; then
  pass "rpm: the module is the signed file, byte for byte (not stripped)"
else
  fail "rpm: the module is the signed file, byte for byte (not stripped)"
fi
check "rpm: the sidecar" "{\"package\": \"$name\", \"version\": \"1.1-1\"}" "$(cat "$work/rpmroot/$store/lpdemo_v1.vendor.json")"
check_contains "rpm: %postun says the patch stays loaded" "stays loaded in the running kernel until 'lpctl unload lpdemo_v1'" \
  "$(rpm -qp --qf '%{POSTUN}' "$rpm" 2> /dev/null)"
rpm -qp --qf '%{POSTTRANS}' "$rpm" > "$work/posttrans.sh" 2> /dev/null

# --- the trigger of the agent package and the RPM's %posttrans, with a stand-in lpctl exiting RC with MESSAGE
check "agent deb: the file trigger" "interest-noawait /usr/lib/livepatchd/patches" \
  "$(grep -v '^#' "$REPO_ROOT/packaging/deb/triggers")"
mkdir -p "$work/fakebin"
# run_with_lpctl RC MESSAGE SCRIPT ARG...: SCRIPT's "exit status:output" with lpctl exiting RC after MESSAGE.
run_with_lpctl() {
  local rc=$1 msg=$2 out got=0
  shift 2
  # shellcheck disable=SC2016 # the stand-in's own $1
  printf '#!/bin/sh\n[ "$1" = apply ] || exit 2\necho "%s" >&2\nexit %s\n' "$msg" "$rc" > "$work/fakebin/lpctl"
  chmod +x "$work/fakebin/lpctl"
  out=$(PATH=$work/fakebin:$PATH sh "$@" 2>&1) || got=$?
  echo "$got:$out"
}
for script in "agent deb postinst triggered:$REPO_ROOT/packaging/deb/postinst triggered" "rpm %posttrans:$work/posttrans.sh"; do
  what=${script%%:*}
  read -r -a cmd <<< "${script#*:}"
  check "$what: apply succeeds -> exit 0, lpctl's output" "0:applied lpdemo_v1" "$(run_with_lpctl 0 "applied lpdemo_v1" "${cmd[@]}")"
  check "$what: daemon down (lpctl exit 3) -> exit 0, the message" \
    "0:livepatchd is not running; the patch is applied when it starts" "$(run_with_lpctl 3 "cannot reach livepatchd" "${cmd[@]}")"
  check "$what: apply fails -> exit 0, the error" \
    "0:error: previous-apply-interrupted
livepatch: lpctl apply failed (exit 1); see 'lpctl status'" "$(run_with_lpctl 1 "error: previous-apply-interrupted" "${cmd[@]}")"
done

# --- a cumulative series: lpdemo_v2 (replace=Y) is the next version of the same package; default names
if "$build" --module "$mods/lpdemo_v2.signed.ko" --release "$kv" --name lpdemo --deb --out "$out" > "$work/build2.log" 2>&1; then
  v2=$(dpkg-deb -f "$out/${name}_1.2-1_amd64.deb" Package Version | tr '\n' ' ' | sed 's/ $//')
  check "series: lpdemo_v2 with --name lpdemo is the same package, level 2" "Package: $name Version: 1.2-1" "$v2"
  if dpkg --compare-versions 1.2-1 gt 1.1-1; then pass "series: 1.2-1 upgrades 1.1-1"; else fail "series: 1.2-1 upgrades 1.1-1"; fi
  check "series: only --deb was built" "" "$(ls "$out"/*1.2-1*.rpm 2> /dev/null || true)"
else
  fail "build.sh builds lpdemo_v2 --deb" "$(tail -n 5 "$work/build2.log")"
fi
"$build" --module "$mods/lpdemo_v2.signed.ko" --release "$kv" --version 2.0-3 --rpm --out "$out" > "$work/build3.log" 2>&1 || true
check "default name from the module ('_' -> '-'), --version" "livepatch-lpdemo-v2-$kv 2.0-3" \
  "$(rpm -qp --qf '%{NAME} %{VERSION}-%{RELEASE}' "$out/livepatch-lpdemo-v2-$kv-2.0-3.x86_64.rpm" 2> /dev/null)"

# --- refusals: exit 1, a clear reason, no package
refuse() { # refuse DESC REASON ARG...
  local desc=$1 reason=$2 rc=0 o
  shift 2
  rm -rf "$work/refused"
  o=$("$build" --out "$work/refused" "$@" 2>&1) || rc=$?
  check "$desc: exit 1" 1 "$rc"
  check_contains "$desc: says why" "$reason" "$o"
  check "$desc: no package" "" "$(ls "$work/refused" 2> /dev/null || true)"
}
refuse "a module that is not a live patch" "not a live patch (its .modinfo has no livepatch=Y)" \
  --module "$mods/lpdemo_notlp.signed.ko" --release "$kv"
refuse "a module built for another kernel (vermagic)" "built for kernel '$(sed -n 's/^altered-release: //p' "$mods/manifest.txt")', not $kv" \
  --module "$mods/lpdemo_v1.badvermagic.signed.ko" --release "$kv"
refuse "another --release than the module's" "not 5.10.0-99-amd64" --module "$mods/lpdemo_v1.signed.ko" --release 5.10.0-99-amd64
echo "not an ELF file" > "$work/junk.ko"
refuse "a file that is no kernel module" "not a kernel module" --module "$work/junk.ko" --release "$kv"
refuse "a version without a revision" "is not UPSTREAM-REVISION" --module "$mods/lpdemo_v1.signed.ko" --release "$kv" --version 7
refuse "a compressed module" "not a .ko file" --module "$mods/lpdemo_v2.signed.ko.zst" --release "$kv"

echo "patch packages: $passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
