#!/usr/bin/env bash
# build.sh VERSION OUTDIR: the livepatchd .deb from the published binaries (artifacts/bin), and the
# cockpit-livepatchd .deb (Architecture: all) from the built web console page (artifacts/build/cockpit, make
# cockpit), then lintian on both.
#
# A binary package assembled with dpkg-deb from `make install DESTDIR=... PREFIX=/usr`, not a Debian source
# package: the binaries are Native AOT builds that `make publish` has made and tested already. The maintainer
# scripts do what debhelper's dh_installsystemd, dh_installsysusers and dh_installtmpfiles would. Depends comes
# from dpkg-shlibdeps, plus libssl3, which the daemon loads with dlopen for X.509 and PKCS#7.
# Fails when lintian reports an error; its warnings and notes are printed (docs/packaging.md explains each).
set -euo pipefail
version=${1:?version}; outdir=${2:?output directory}
revision=${DEB_REVISION:-1}
maintainer=${DEB_MAINTAINER:-LivePatchAgent maintainers <maintainers@livepatchagent.invalid>}
homepage=${DEB_HOMEPAGE:-https://livepatchagent.invalid/}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
make -s install DESTDIR="$root" PREFIX=/usr

# Debian policy: man pages and changelogs compressed with gzip -9n; documentation in /usr/share/doc/<package>.
gzip -9n "$root"/usr/share/man/man*/*
doc=$root/usr/share/doc/livepatchd
install -d -m 0755 "$doc"
install -m 0644 "$here/copyright" "$doc/copyright"
date=$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2> /dev/null || date +%s)}")
sed -e "s|@VERSION@|$version-$revision|" -e "s|@MAINTAINER@|$maintainer|" -e "s|@DATE@|$date|" \
  "$here/changelog" | gzip -9n > "$doc/changelog.Debian.gz"

# Shared-library dependencies of the two executables.
mkdir -p "$work/src/debian"
printf 'Source: livepatchd\n\nPackage: livepatchd\nArchitecture: amd64\n' > "$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O "$root/usr/libexec/livepatchd/livepatchd" "$root/usr/bin/lpctl" |
  sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

install -d -m 0755 "$root/DEBIAN"
sed -e "s|@VERSION@|$version-$revision|" -e "s|@MAINTAINER@|$maintainer|" -e "s|@HOMEPAGE@|$homepage|" \
  -e "s|@DEPENDS@|$shlibs, libssl3|" -e "s|@INSTALLED_SIZE@|$(du -sk --exclude=DEBIAN "$root" | cut -f1)|" \
  "$here/control.in" > "$root/DEBIAN/control"
install -m 0644 "$here/conffiles" "$here/triggers" "$root/DEBIAN/"
install -m 0755 "$here/postinst" "$here/prerm" "$here/postrm" "$root/DEBIAN/"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"

mkdir -p "$outdir"
deb=$outdir/livepatchd_${version}-${revision}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" > /dev/null
echo "deb: $deb ($(du -h "$deb" | cut -f1))"

if ! command -v lintian > /dev/null; then
  echo "deb: lintian is not installed (run scripts/setup.sh); the package is not checked" >&2
  exit 1
fi

# cockpit-livepatchd: the page in /usr/share/cockpit/livepatch, where Cockpit looks for it.
croot=$work/cockpit-root
make -s install-cockpit DESTDIR="$croot" PREFIX=/usr
cdoc=$croot/usr/share/doc/cockpit-livepatchd
install -d -m 0755 "$cdoc"
install -m 0644 "$here/cockpit-copyright" "$cdoc/copyright"
sed -e "s|@VERSION@|$version-$revision|" -e "s|@MAINTAINER@|$maintainer|" -e "s|@DATE@|$date|" \
  -e "s|^livepatchd |cockpit-livepatchd |" "$here/changelog" | gzip -9n > "$cdoc/changelog.Debian.gz"
install -d -m 0755 "$croot/DEBIAN"
sed -e "s|@VERSION@|$version-$revision|" -e "s|@MAINTAINER@|$maintainer|" -e "s|@HOMEPAGE@|$homepage|" \
  -e "s|@INSTALLED_SIZE@|$(du -sk --exclude=DEBIAN "$croot" | cut -f1)|" "$here/cockpit-control.in" > "$croot/DEBIAN/control"
(cd "$croot" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$croot/DEBIAN/md5sums"
chmod 0644 "$croot/DEBIAN/md5sums"
cdeb=$outdir/cockpit-livepatchd_${version}-${revision}_all.deb
dpkg-deb --root-owner-group -Zxz --build "$croot" "$cdeb" > /dev/null
echo "deb: $cdeb ($(du -h "$cdeb" | cut -f1))"

# --fail-on error: warnings are listed (and justified in docs/packaging.md) but do not fail the build.
for package in "$deb" "$cdeb"; do
  report=$outdir/lintian.txt
  [ "$package" = "$deb" ] || report=$outdir/lintian-cockpit.txt
  lintian --info --display-level '>=pedantic' --fail-on error "$package" | tee "$report"
  echo "deb: lintian $(basename "$package"): $(grep -c '^E: ' "$report" || true) error(s), $(grep -c '^W: ' "$report" || true) warning(s), $(grep -c '^[IP]: ' "$report" || true) info/pedantic"
done
