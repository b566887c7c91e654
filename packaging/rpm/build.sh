#!/usr/bin/env bash
# build.sh VERSION OUTDIR: the livepatchd RPM from the published binaries, and its cockpit-livepatchd subpackage
# (noarch) from the built web console page, with rpmbuild -bb.
# Works on Debian too (the rpm package): the spec needs no build dependencies, and defines the systemd
# scriptlet macros itself where systemd-rpm-macros is missing.
set -euo pipefail
version=${1:?version}; outdir=${2:?output directory}
repo=$(cd "$(dirname "$0")/../.." && pwd)
command -v rpmbuild > /dev/null || { echo "rpm: rpmbuild is not installed (run scripts/setup.sh)" >&2; exit 1; }
top=$(mktemp -d)
trap 'rm -rf "$top"' EXIT
defines=(--define "_topdir $top" --define "_sourcedir $repo" --define "pkg_version $version")
# Debian's rpm ships brp-compress with "#!/bin/sh" but uses bash's "read -d", which dash refuses, so the man
# pages would stay uncompressed; run it with bash there. Elsewhere rpm's own definition is kept.
if [ -f /etc/debian_version ]; then
  defines+=(--define "__brp_compress bash $(rpm --eval '%{_rpmconfigdir}')/brp-compress")
fi
# --nodeps: build requirements are checked against the rpm database, which is empty on Debian.
rpmbuild -bb --nodeps --quiet "${defines[@]}" "$repo/packaging/rpm/livepatchd.spec"
mkdir -p "$outdir"
for f in "$top"/RPMS/*/livepatchd-*.rpm "$top"/RPMS/*/cockpit-livepatchd-*.rpm; do
  cp "$f" "$outdir/"
  echo "rpm: $outdir/$(basename "$f") ($(du -h "$f" | cut -f1))"
done
