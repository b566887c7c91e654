#!/usr/bin/env bash
# build.sh: turn a signed live patch module into a .deb and an .rpm (docs/fleet.md, "Patch packages").
#
#   packaging/patch/build.sh --module FILE.ko --release KERNEL_RELEASE [--name SERIES] [--version VERSION]
#                            [--out DIR] [--deb] [--rpm] [--lintian]
#
#   --module FILE.ko   the signed live patch module (not compressed); its .modinfo is read with modinfo -F
#   --release RELEASE  the kernel release it is built for (uname -r); the module's vermagic must name it
#   --name SERIES      the series name: the package is livepatch-SERIES-RELEASE (default: the module's name,
#                      lower-case, '_' turned into '-'). Give every module of a cumulative series the same one,
#                      so that a newer module upgrades the package of the older one
#   --version VERSION  the package version UPSTREAM-REVISION (default: 1.<livepatch_level or 0>-1)
#   --out DIR          where the packages go (default: artifacts/packages)
#   --deb, --rpm       build only that format (default: both)
#   --lintian          run lintian on the .deb and fail on an error
#
# The package installs the module and its sidecar into livepatchd's vendor store:
#   /usr/lib/livepatchd/patches/RELEASE/MODULE.ko
#   /usr/lib/livepatchd/patches/RELEASE/MODULE.vendor.json   {"package": "NAME", "version": "VERSION"}
# livepatchd's dpkg file trigger (packaging/deb/triggers) or the .rpm's %posttrans then runs `lpctl apply`.
# A script of the build host, not an lpctl command: it needs dpkg-deb, rpmbuild and modinfo, which the managed
# hosts that run lpctl do not. DEB_MAINTAINER overrides the maintainer, SOURCE_DATE_EPOCH the changelog date
# (default: the module file's time), PATCH_COPYRIGHT the copyright holder (default: "the authors of the live
# patch MODULE").
set -euo pipefail

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "patch package: $*" >&2; exit 1; }

module='' release='' series='' version='' outdir='' want_deb=0 want_rpm=0 lintian=0
while [ $# -gt 0 ]; do
  case "$1" in
    --module) module=${2:?--module needs a file}; shift 2 ;;
    --release) release=${2:?--release needs a kernel release}; shift 2 ;;
    --name) series=${2:?--name needs a name}; shift 2 ;;
    --version) version=${2:?--version needs a version}; shift 2 ;;
    --out) outdir=${2:?--out needs a directory}; shift 2 ;;
    --deb) want_deb=1; shift ;;
    --rpm) want_rpm=1; shift ;;
    --lintian) lintian=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
if [ -z "$module" ] || [ -z "$release" ]; then usage >&2; exit 2; fi
if [ "$want_deb" = 0 ] && [ "$want_rpm" = 0 ]; then want_deb=1; want_rpm=1; fi
here=$(cd "$(dirname "$0")" && pwd)
outdir=${outdir:-$here/../../artifacts/packages}
maintainer=${DEB_MAINTAINER:-LivePatchAgent maintainers <maintainers@livepatchagent.invalid>}
command -v modinfo > /dev/null || die "modinfo is missing (the kmod package)"
[ -f "$module" ] || die "$module: no such file"
case "$module" in *.ko) ;; *) die "$module: not a .ko file (decompress a .ko.zst/.xz/.gz first)" ;; esac

# The module's own metadata (docs/patch-authoring.md). modinfo fails on a file that is no kernel module.
field() { modinfo -F "$1" "$module" 2> /dev/null; }
modname=$(field name) || die "$module: modinfo cannot read it: not a kernel module"
[ -n "$modname" ] || die "$module: the module has no name in its .modinfo"
[ "$(field livepatch)" = Y ] || die "$module: not a live patch (its .modinfo has no livepatch=Y)"
vermagic=$(field vermagic)
[ "${vermagic%% *}" = "$release" ] ||
  die "$module: built for kernel '${vermagic%% *}', not $release (vermagic '$vermagic')"
mapfile -t cves < <(field livepatch_cve | sort -uV)
summary=$(field livepatch_summary | head -n1)
level=$(field livepatch_level | head -n1)
license=$(field license | head -n1)
summary=${summary:-live patch $modname}

# The ELF machine of the module decides the package architecture.
machine=$(LC_ALL=C readelf -h "$module" 2> /dev/null | sed -n 's/^ *Machine: *//p')
case "$machine" in
  *X86-64*) deb_arch=amd64; rpm_arch=x86_64 ;;
  *AArch64*) deb_arch=arm64; rpm_arch=aarch64 ;;
  *) die "$module: unsupported ELF machine '$machine'" ;;
esac

series=${series:-$modname}
series=$(echo "${series//_/-}" | tr '[:upper:]' '[:lower:]')
name=livepatch-$series-$(echo "$release" | tr '[:upper:]' '[:lower:]')
[[ "$name" =~ ^[a-z0-9][a-z0-9.+-]+$ ]] || die "package name '$name' is not a valid package name"
[[ "$level" =~ ^[0-9]+$ ]] || level=0
version=${version:-1.$level-1}
[[ "$version" =~ ^[0-9][A-Za-z0-9.+~]*-[A-Za-z0-9.+~]+$ ]] ||
  die "version '$version' is not UPSTREAM-REVISION (digits, letters, . + ~; e.g. 1.2-1)"
# GPL-only symbols make every live patch GPL; MODULE_LICENSE("GPL") means version 2 or later.
case "$license" in
  "GPL" | "GPL and additional rights") spdx=GPL-2+ ;;
  "GPL v2") spdx=GPL-2 ;;
  "Dual BSD/GPL") spdx="BSD-3-clause or GPL-2+" ;;
  "Dual MIT/GPL") spdx="Expat or GPL-2+" ;;
  *) die "$module: license '$license' is not one a live patch can have" ;;
esac

store=usr/lib/livepatchd/patches/$release
stamp=${SOURCE_DATE_EPOCH:-$(stat -c %Y "$module")}
cve_list=$(IFS=,; echo "${cves[*]}")
cve_list=${cve_list//,/, }
fixes=${cve_list:+Fixes $cve_list.}
fixes=${fixes:-Names no CVE.}
about="The signed live patch module $modname for Linux $release, installed into livepatchd's vendor store \
(/$store). livepatchd verifies and applies it at once on that kernel, and again at each boot of it."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$outdir"

# stage ROOT: the module and its sidecar under ROOT.
stage() {
  install -d -m 0755 "$1/$store"
  install -m 0644 "$module" "$1/$store/$modname.ko"
  printf '{"package": "%s", "version": "%s"}\n' "$name" "$version" > "$1/$store/$modname.vendor.json"
  chmod 0644 "$1/$store/$modname.vendor.json"
}
# wrap TEXT: TEXT folded to 72 columns, each line prefixed by $prefix.
wrap() { echo "$1" | fold -s -w 72 | sed 's/ *$//' | sed "s/^/$prefix/"; }

build_deb() {
  local root=$work/deb doc prefix
  stage "$root"
  doc=$root/usr/share/doc/$name
  install -d -m 0755 "$doc" "$root/usr/share/lintian/overrides"
  {
    echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
    echo "Comment: The live patch module $modname, MODULE_LICENSE(\"$license\")."
    echo
    echo "Files: *"
    echo "Copyright: $(date -u -d "@$stamp" +%Y) ${PATCH_COPYRIGHT:-the authors of the live patch $modname}"
    echo "License: $spdx"
    echo " On Debian systems the GNU General Public License version 2 is in"
    echo " /usr/share/common-licenses/GPL-2."
  } > "$doc/copyright"
  {
    echo "$name ($version) unstable; urgency=medium"
    echo
    prefix='    ' wrap "$summary" | sed '1s/^    /  * /'
    prefix='    ' wrap "$fixes" | sed '1s/^    /  * /'
    echo
    echo " -- $maintainer  $(date -R -u -d "@$stamp")"
  } | gzip -9n > "$doc/changelog.Debian.gz"
  # The changelog is the patch's own, not an upload to the Debian archive: there is no bug to close.
  printf '%s\n' "# A live patch package is not an upload to the Debian archive: no ITP bug to close." \
    "$name: initial-upload-closes-no-bugs" > "$root/usr/share/lintian/overrides/$name"
  chmod 0644 "$doc"/* "$root/usr/share/lintian/overrides/$name"

  install -d -m 0755 "$root/DEBIAN"
  prefix=' '
  {
    echo "Package: $name"
    echo "Version: $version"
    echo "Architecture: $deb_arch"
    echo "Maintainer: $maintainer"
    echo "Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)"
    echo "Depends: livepatchd, linux-image-$release"
    echo "Section: kernel"
    echo "Priority: optional"
    echo "Description: live patch $modname for Linux $release"
    wrap "$summary"
    echo " ."
    wrap "$fixes"
    echo " ."
    wrap "$about"
  } > "$root/DEBIAN/control"
  sed "s|@MODULE@|$modname|g" "$here/postrm.in" > "$root/DEBIAN/postrm"
  chmod 0755 "$root/DEBIAN/postrm"
  (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
  chmod 0644 "$root/DEBIAN/md5sums"
  deb=$outdir/${name}_${version}_$deb_arch.deb
  dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" > /dev/null
  echo "patch package: $deb"
  if [ "$lintian" = 1 ]; then
    command -v lintian > /dev/null || die "lintian is not installed"
    local report=$outdir/lintian-$name.txt
    lintian --display-level '>=pedantic' --fail-on error "$deb" > "$report" || { cat "$report" >&2; die "lintian: errors in $deb"; }
    cat "$report"
    echo "patch package: lintian $(basename "$deb"): $(grep -c '^E: ' "$report" || true) error(s), $(grep -c '^W: ' "$report" || true) warning(s)"
  fi
}

build_rpm() {
  command -v rpmbuild > /dev/null || die "rpmbuild is not installed (the rpm package)"
  local top=$work/rpm spec=$work/rpm/$name.spec date
  mkdir -p "$top/SOURCES"
  cp "$module" "$top/SOURCES/$modname.ko"
  printf '{"package": "%s", "version": "%s"}\n' "$name" "$version" > "$top/SOURCES/$modname.vendor.json"
  date=$(LC_ALL=C date -u -d "@$stamp" '+%a %b %d %Y')
  # The exact kernel: RPM kernels provide kernel-uname-r = RELEASE. A release with more than one '-' (Debian's
  # 6.1.0-57-amd64) is no valid RPM version, so it is required by a file of that kernel instead.
  local kernel_req="kernel-uname-r = $release"
  [[ "$release" != *-*-* ]] || kernel_req=/lib/modules/$release/vmlinuz
  {
    echo "# Generated by packaging/patch/build.sh from $(basename "$module")."
    # The signed module must stay byte for byte: no stripping, no debuginfo, no automatic dependencies.
    echo "%global debug_package %{nil}"
    echo "%global __os_install_post %{nil}"
    echo "%global _build_id_links none"
    echo "Name: $name"
    echo "Version: ${version%-*}"
    echo "Release: ${version##*-}"
    echo "Summary: Live patch $modname for Linux $release"
    echo "License: $spdx"
    echo "BuildArch: $rpm_arch"
    echo "AutoReqProv: no"
    echo "Requires: livepatchd"
    echo "Requires: $kernel_req"
    echo "Source0: $modname.ko"
    echo "Source1: $modname.vendor.json"
    echo
    echo "%description"
    prefix='' wrap "$summary"
    echo
    prefix='' wrap "$fixes"
    echo
    prefix='' wrap "$about"
    echo
    echo "%install"
    echo "install -D -m 0644 %{SOURCE0} %{buildroot}/$store/$modname.ko"
    echo "install -D -m 0644 %{SOURCE1} %{buildroot}/$store/$modname.vendor.json"
    echo
    cat "$here/scriptlets.spec.in"
    echo
    echo "%files"
    echo "%dir /$store"
    echo "/$store/$modname.ko"
    echo "/$store/$modname.vendor.json"
    echo
    echo "%changelog"
    echo "* $date $maintainer - $version"
    prefix='  ' wrap "$summary" | sed '1s/^  /- /'
    prefix='  ' wrap "$fixes" | sed '1s/^  /- /'
  } | sed "s|@MODULE@|$modname|g" > "$spec"
  rpmbuild -bb --nodeps --quiet --define "_topdir $top" --define "_sourcedir $top/SOURCES" "$spec"
  local f
  for f in "$top"/RPMS/*/"$name"-*.rpm; do
    cp "$f" "$outdir/"
    echo "patch package: $outdir/$(basename "$f")"
  done
}

[ "$want_deb" = 0 ] || build_deb
[ "$want_rpm" = 0 ] || build_rpm
