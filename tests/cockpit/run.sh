#!/usr/bin/env bash
# The web console tests (make cockpit-check; docs/web-console.md, docs/testing.md):
#   bash tests/cockpit/run.sh --bin artifacts/bin --deb artifacts/packages/cockpit-livepatchd_<v>_all.deb [TEST...]
# 1. The package: cockpit-livepatchd puts the page where Cockpit looks for it, and depends on what it needs.
# 2. The page, from that package, in headless Chromium against Debian's cockpit-ws and cockpit-bridge, with the
#    published livepatchd on a fixture tree behind a private system bus (tests/cockpit/test_console.py).
# Screenshots go to artifacts/cockpit-screenshots. Prints "web console: N passed, N failed"; exits non-zero on a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=artifacts/bin
deb=
while [[ $# -gt 0 ]]; do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --deb) deb=$2; shift 2 ;;
    *) break ;;
  esac
done
[[ -x $bin/livepatchd && -x $bin/lpctl ]] || { echo "cockpit: $bin has no livepatchd/lpctl; run make publish" >&2; exit 3; }
[[ -f $deb ]] || { echo "cockpit: the cockpit-livepatchd package ($deb) is missing; run make deb" >&2; exit 3; }
for tool in /usr/lib/cockpit/cockpit-ws cockpit-bridge chromium chromedriver dbus-daemon busctl; do
  command -v "$tool" > /dev/null || { echo "cockpit: $tool is missing; run scripts/setup.sh" >&2; exit 3; }
done
[[ -f /usr/share/cockpit/shell/manifest.json ]] || { echo "cockpit: cockpit-system (the shell that frames the page) is missing; run scripts/setup.sh" >&2; exit 3; }
/usr/bin/python3 -c 'import selenium' 2> /dev/null || { echo "cockpit: python3-selenium is missing; run scripts/setup.sh" >&2; exit 3; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"  # the test session of user nobody reads the page from here
passed=0 failed=0

# The package, as dpkg would unpack it.
dpkg-deb -x "$deb" "$work/root"
page=$work/root/usr/share/cockpit/livepatch
problems=()
for f in manifest.json index.html index.js index.css; do
  [[ -f $page/$f ]] || problems+=("usr/share/cockpit/livepatch/$f is missing")
done
jq -e '.tools.index.label == "Kernel live patching"' "$page/manifest.json" > /dev/null 2>&1 ||
  problems+=("manifest.json has no \"Kernel live patching\" menu entry")
grep -q '<script src="../base1/cockpit.js">' "$page/index.html" || problems+=("index.html does not load Cockpit's own cockpit.js")
[[ $(dpkg-deb -f "$deb" Architecture) == all ]] || problems+=("Architecture is not all")
depends=$(dpkg-deb -f "$deb" Depends)
for needed in cockpit-bridge cockpit-system livepatchd; do
  [[ ",$depends," =~ ,\ ?$needed(\ \([^\)]*\))?, ]] || problems+=("Depends lacks $needed: $depends")
done
if [[ ${#problems[@]} -eq 0 ]]; then
  echo "PASS the cockpit-livepatchd package installs the page where Cockpit finds it"; passed=$((passed + 1))
else
  echo "FAIL the cockpit-livepatchd package:"; printf '  %s\n' "${problems[@]}"; failed=$((failed + 1))
fi

# The browser tests, on the packaged page.
shots=artifacts/cockpit-screenshots
set +e
/usr/bin/python3 tests/cockpit/test_console.py --bin "$bin" --dist "$page" --screenshots "$shots" "$@" | tee "$work/out"
set -e
last=$(tail -n 1 "$work/out")
if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
else
  echo "FAIL the browser tests ended without their count"; failed=$((failed + 1))
fi
echo "cockpit: screenshots in $shots"
echo "web console: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
