#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (unit/integration tests and the real-kernel e2e bed).
# Idempotent: packages already installed are skipped, so a warm run takes well under a second.
# Runs as root on Debian 12 (CI=true included); as non-root it only reports what is missing.
#
# The kernel headers are those of the *current* Debian kernel ABI (what linux-image-amd64 depends on),
# resolved at run time: the e2e bed builds its test livepatch modules against exactly the kernel it boots.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# Fixed tools. qemu/busybox/cpio/kmod build and boot the guest; openssl signs the test modules;
# zstd/xz make the compressed module variants; jq parses lpctl -o json (host and guest); dbus serves the
# D-Bus integration tests; gcc/make/libc6-dev build the kernel modules.
# systemd brings busctl, systemd-analyze and systemd-socket-activate (the D-Bus and unit-file tests; PID 1 need
# not be systemd); libglib2.0-bin brings gdbus; dbus-daemon runs the private test buses.
# Packaging (docs/packaging.md): pandoc renders the man pages, dpkg-dev (dpkg-shlibdeps) and fakeroot build the
# .deb, lintian checks it, rpm brings rpmbuild; zlib1g-dev is the libz the Native AOT link uses (UseSystemZlib).
# The version-ordering tests (Core/Posture) compare with the real tools: dpkg (--compare-versions; Essential, listed
# so a missing one is named) and rpm (rpm.vercmp in its Lua).
# The systemd-boot e2e scenario: debootstrap makes the Debian image, e2fsprogs puts it in an ext4 file
# (mkfs.ext4 -d), qemu-utils (qemu-img) makes the per-run overlay of it.
# The third-party client example (examples/python, PythonClientTests): protoc >= 3.15 (protobuf-compiler; not
# python3-grpc-tools, whose bundled protoc 3.5.1 rejects proto3 `optional`), its well-known types (libprotobuf-dev),
# the Python gRPC plugin (protobuf-compiler-grpc) and runtime (python3-grpcio, python3-protobuf).
# libnss-wrapper gives a test daemon a group that exists only through NSS (DaemonAuthorizationTests).
# The metrics (docs/metrics.md): prometheus brings promtool (check metrics, check/test rules) and the server, and
# prometheus-node-exporter the textfile collector; the integration tests run both on loopback ports of their own.
# The web console tests (tests/cockpit, make cockpit-check): Debian's Cockpit (cockpit-ws serves, cockpit-system is
# the shell that frames the page (without it cockpit-ws answers "Server is missing the cockpit-system package"), cockpit-bridge is
# the session), headless chromium driven by chromium-driver through python3-selenium. Building the page needs node
# and npm (node 20 or later, not from apt: Debian 12's nodejs is 18), which the machine provides.
# Fleet delivery (docs/fleet.md): ansible-core runs the collection's playbooks against the e2e guests over ssh
# (openssh-client), ansible-lint checks the collection, python3-pytest runs the module's unit tests.
packages=(
  qemu-system-x86 busybox-static cpio kmod openssl zstd xz-utils jq dbus dbus-daemon systemd libglib2.0-bin
  gcc make libc6-dev
  pandoc dpkg dpkg-dev fakeroot lintian rpm zlib1g-dev
  debootstrap e2fsprogs qemu-utils
  protobuf-compiler libprotobuf-dev protobuf-compiler-grpc python3-grpcio python3-protobuf libnss-wrapper
  prometheus prometheus-node-exporter
  cockpit-ws cockpit-bridge cockpit-system chromium chromium-driver python3-selenium
  ansible-core ansible-lint openssh-client python3-pytest
)

installed() { # installed PKG: true when dpkg has PKG fully installed
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# The ABI package linux-image-amd64 depends on, e.g. linux-image-6.1.0-56-amd64 -> 6.1.0-56-amd64.
# Prints nothing (and succeeds) when apt does not know the package yet: a fresh machine has empty package lists,
# and apt-cache then exits 100, which must not end this script under set -e before the update below can run.
resolve_kernel_release() {
  { apt-cache depends linux-image-amd64 2>/dev/null || true; } |
    awk '/Depends: linux-image-[0-9]/ { sub("linux-image-", "", $2); print $2; exit }'
}

updated=0
apt_update_once() {
  if [ "$updated" = 0 ]; then
    echo "setup: apt-get update"
    apt-get update -qq
    updated=1
  fi
}

kv=${LIVEPATCHAGENT_KERNEL_RELEASE:-$(resolve_kernel_release)}
if [ -z "$kv" ]; then
  # A fresh machine may have empty package lists; only then is an update worth its time.
  [ "$(id -u)" = 0 ] && apt_update_once
  kv=$(resolve_kernel_release)
fi
[ -n "$kv" ] || { echo "setup: cannot resolve the Debian kernel ABI from linux-image-amd64" >&2; exit 1; }
packages+=("linux-headers-$kv")

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present (kernel headers for $kv)"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "setup: missing packages (run as root to install): ${missing[*]}" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  # Stale lists (e.g. a security upload replaced a version) fail the install; refresh once and retry.
  apt_update_once
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "setup: done (kernel headers for $kv)"
