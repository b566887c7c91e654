#!/usr/bin/env bash
# Checks the Ansible collection livepatchd.agent (ansible/): the module unit tests (pytest), ansible-galaxy
# collection build and install, ansible-playbook --syntax-check of every playbook, and ansible-lint. Prints the
# line "ansible: N passed, N failed", where every pytest test and every other step counts as one.
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/ansible-check
rm -rf "$out"; mkdir -p "$out"

passed=0; failed=0
# step NAME CMD...: run one step, log in $out/NAME.log, count it.
step() {
  local name=$1; shift
  if "$@" > "$out/$name.log" 2>&1; then
    passed=$((passed + 1)); echo "ansible: $name ok"
  else
    failed=$((failed + 1)); echo "ansible: $name FAILED (log: $out/$name.log)"; tail -n 20 "$out/$name.log"
  fi
}
for tool in pytest-3 ansible-galaxy ansible-playbook ansible-lint; do
  command -v "$tool" > /dev/null || { echo "ansible: $tool is missing (run make setup)"; echo "ansible: 0 passed, 1 failed"; exit 1; }
done

# The unit tests: pytest's own counts ("3 failed, 34 passed, 1 error in 2.1s").
pytest-3 -q -p no:cacheprovider ansible/tests/unit > "$out/pytest.log" 2>&1 || true
counts=$(tail -n 1 "$out/pytest.log" | awk '{ for (i = 2; i <= NF; i++) { w = $i; sub(/,$/, "", w)
  if (w == "passed") p += $(i - 1); if (w == "failed" || w == "error" || w == "errors") f += $(i - 1) } }
  END { print p + 0, f + 0 }')
read -r p f <<< "$counts"
echo "ansible: pytest: $p passed, $f failed"
if [ "$p" = 0 ]; then f=$((f + 1)); tail -n 20 "$out/pytest.log"; fi
passed=$((passed + p)); failed=$((failed + f))

# The collection as a user installs it (docs/fleet.md, "Ansible collection"), then the playbooks against it.
step galaxy-build ansible-galaxy collection build ansible --output-path "$out" --force
tarball=$(find "$out" -maxdepth 1 -name 'livepatchd-agent-*.tar.gz' | head -n1)
step galaxy-install ansible-galaxy collection install "${tarball:-missing.tar.gz}" -p "$out/collections" --force
for playbook in ansible/playbooks/*.yml; do
  step "syntax-$(basename "$playbook" .yml)" env ANSIBLE_COLLECTIONS_PATH="$PWD/$out/collections" \
    ansible-playbook -i localhost, --syntax-check "$playbook"
done
step ansible-lint bash -c 'cd ansible && ansible-lint -q --nocolor'

echo "ansible: $passed passed, $failed failed"
[ "$failed" = 0 ]
