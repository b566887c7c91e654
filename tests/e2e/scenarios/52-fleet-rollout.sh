# shellcheck shell=bash
# Issue 19: the Ansible collection livepatchd.agent against two Debian guests (lib/fleet.sh runs this on the host).
# 1. ansible-galaxy builds and installs the collection; playbooks/agent.yml (role livepatchd) installs the agent
#    .deb, the trusted certificate and a configuration on both guests: the service is active with that config.
# 2. playbooks/rollout.yml rolls the signed lpdemo_v1 out (canary guest1, then guest2): both patched, lpctl list
#    shows it on both, and the report says so. A second run changes nothing (changed=0 on both hosts).
# 3. A rollout of a module built for another kernel (lpdemo_v1.badvermagic.signed.ko): the canary fails its step
#    with the daemon's reason, the rollout stops before guest2 (which never gets the file), the report says so.
# 4. rollout.yml rolls out a patch package: the cumulative lpdemo_v2 as livepatch-lpdemo-KV (packaging/patch/build.sh
#    on the host). apt installs it, its dpkg trigger applies it, and it replaces lpdemo_v1 on both hosts; lpctl list
#    shows lpdemo_v2 from the vendor package on both. A second run changes nothing.
# boot: fleet
# timeout: 1500

export ANSIBLE_COLLECTIONS_PATH=$FLEET_DIR/collections ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_NOCOLOR=1
export ANSIBLE_PIPELINING=True ANSIBLE_RETRY_FILES_ENABLED=False ANSIBLE_STDOUT_CALLBACK=default
COLL=$REPO_ROOT/ansible
# recap HOST LOG: "changed=N failed=N" of HOST in the PLAY RECAP of LOG.
recap() { sed -n "s/^$1 *: .*\(changed=[0-9]*\).*\(failed=[0-9]*\).*/\1 \2/p" "$2" | tail -n1; }
# playbook NAME ARGS...: ansible-playbook ARGS, its output in $E2E_OUT/NAME.log; returns its exit code.
playbook() {
  local name=$1 rc=0
  shift
  ansible-playbook -i "$FLEET_INVENTORY" "$@" > "$E2E_OUT/$name.log" 2>&1 || rc=$?
  echo "ansible-playbook $name: exit $rc ($(grep -c '^TASK' "$E2E_OUT/$name.log") tasks)"
  return "$rc"
}

# ---- 1. the collection as docs/fleet.md ("Ansible collection") installs it, then the agent
rm -rf "$FLEET_DIR/collections" "$FLEET_DIR/build"
ansible-galaxy collection build "$COLL" --output-path "$FLEET_DIR/build" > "$E2E_OUT/galaxy.log" 2>&1 ||
  abort "ansible-galaxy collection build" "$(tail -n 5 "$E2E_OUT/galaxy.log")"
ansible-galaxy collection install "$FLEET_DIR"/build/livepatchd-agent-*.tar.gz -p "$FLEET_DIR/collections" >> "$E2E_OUT/galaxy.log" 2>&1 ||
  abort "ansible-galaxy collection install" "$(tail -n 5 "$E2E_OUT/galaxy.log")"
pass "the collection builds and installs"

rc=0
playbook agent livepatchd.agent.agent -e "livepatchd_deb=$FLEET_DEB" \
  -e "{\"livepatchd_trusted_certs\": [\"$FLEET_MODULES/trusted.pem\"], \"livepatchd_config\": {\"Transitions\": {\"StallAfter\": \"00:00:20\"}}}" || rc=$?
check "agent.yml exits 0" 0 "$rc" || abort "agent.yml failed" "$(grep -E 'fatal|FAILED' "$E2E_OUT/agent.log" | head -n 3)"
for h in guest1 guest2; do
  check "$h: livepatchd is active" active "$(fleet_ssh "$h" systemctl is-active livepatchd.service)"
  check "$h: the trusted certificate is installed" present "$(fleet_ssh "$h" 'test -f /etc/livepatchd/trusted.d/trusted.pem && echo present || echo absent')"
  check "$h: the templated config is in effect" '"00:00:20"' \
    "$(fleet_ssh "$h" /usr/libexec/livepatchd/livepatchd config show | jq -c .Transitions.StallAfter)"
done
rc=0
playbook agent-again livepatchd.agent.agent -e "livepatchd_deb=$FLEET_DEB" \
  -e "{\"livepatchd_trusted_certs\": [\"$FLEET_MODULES/trusted.pem\"], \"livepatchd_config\": {\"Transitions\": {\"StallAfter\": \"00:00:20\"}}}" || rc=$?
check "agent.yml again exits 0" 0 "$rc"
check "agent.yml again: guest1 unchanged" "changed=0 failed=0" "$(recap guest1 "$E2E_OUT/agent-again.log")"

# ---- 2. a rollout of the signed lpdemo_v1
R1=$E2E_OUT/report-1.json
rc=0
playbook rollout-1 livepatchd.agent.rollout -e "patch_module=$FLEET_MODULES/lpdemo_v1.signed.ko" -e "rollout_report=$R1" || rc=$?
check "rollout.yml exits 0" 0 "$rc" || abort "the rollout failed" "$(grep -E 'fatal|FAILED' "$E2E_OUT/rollout-1.log" | head -n 3)"
check "rollout 1: the canary batch ran first (PLAY/TASK for guest1 alone)" guest1 \
  "$(sed -n 's/^ok: \[\(guest[0-9]\)\].*/\1/p' "$E2E_OUT/rollout-1.log" | head -n1)"
check "report 1: complete" complete "$(json .result "$R1")"
check "report 1: both patched" "guest1=patched guest2=patched" "$(json '[.hosts[] | "\(.host)=\(.outcome)"] | join(" ")' "$R1")"
check "report 1: the patch name came from the module" lpdemo_v1 "$(json .hosts[0].patch "$R1")"
for h in guest1 guest2; do
  check "$h: lpctl list shows lpdemo_v1 enabled" "lpdemo_v1=enabled" \
    "$(fleet_ssh "$h" lpctl -o json list | jq -r '[.patches[] | "\(.name)=\(.state)"] | join(" ")')"
  check "$h: lpctl list --installed has it" "lpdemo_v1=true" \
    "$(fleet_ssh "$h" lpctl -o json list --installed | jq -r '[.patches[] | "\(.name)=\(.loaded)"] | join(" ")')"
done
# Real lpctl documents for the unit tests' fixtures (ansible/tests/unit/fixtures).
mkdir -p "$E2E_OUT/recorded"
for c in status list "list --installed" check health cves; do
  # shellcheck disable=SC2086 # the command's words
  fleet_ssh guest1 lpctl -o json $c > "$E2E_OUT/recorded/${c// /-}.json" 2>&1 || true
done

R2=$E2E_OUT/report-2.json
rc=0
playbook rollout-2 livepatchd.agent.rollout -e "patch_module=$FLEET_MODULES/lpdemo_v1.signed.ko" -e "rollout_report=$R2" || rc=$?
check "rollout.yml again exits 0" 0 "$rc"
check "rollout 2: guest1 changed=0" "changed=0 failed=0" "$(recap guest1 "$E2E_OUT/rollout-2.log")"
check "rollout 2: guest2 changed=0" "changed=0 failed=0" "$(recap guest2 "$E2E_OUT/rollout-2.log")"
check "report 2: both already patched" "guest1=already-patched guest2=already-patched" \
  "$(json '[.hosts[] | "\(.host)=\(.outcome)"] | join(" ")' "$R2")"

# ---- 3. a patch for another kernel: the canary fails, the rollout stops
R3=$E2E_OUT/report-3.json
BAD=lpdemo_v1.badvermagic.signed.ko
rc=0
playbook rollout-3 livepatchd.agent.rollout -e "patch_module=$FLEET_MODULES/$BAD" -e "rollout_report=$R3" || rc=$?
check "rollout.yml of a wrong-kernel patch exits 2" 2 "$rc"
check "report 3: stopped" stopped "$(json .result "$R3")"
check "report 3: canary failed, guest2 skipped" "guest1=failed guest2=skipped" \
  "$(json '[.hosts[] | "\(.host)=\(.outcome)"] | join(" ")' "$R3")"
check "report 3: the canary's reason is the daemon's" kernel-mismatch "$(json '.hosts[0].reasons[0].reason' "$R3")"
check "report 3: guest2 skipped because the rollout stopped" rollout-stopped "$(json '.hosts[1].reasons[0].reason' "$R3")"
check_contains "the playbook printed the report" '"result": "stopped"' "$(cat "$E2E_OUT/rollout-3.log")"
check "guest2 never got the bad module" absent \
  "$(fleet_ssh guest2 "test -e /var/cache/livepatchd-ansible/$BAD && echo present || echo absent")"
check "guest1 still runs lpdemo_v1" "lpdemo_v1=enabled" \
  "$(fleet_ssh guest1 lpctl -o json list | jq -r '[.patches[] | "\(.name)=\(.state)"] | join(" ")')"

# ---- 4. a patch package: the cumulative lpdemo_v2 replaces lpdemo_v1 through apt and the package's dpkg trigger
PKG=livepatch-lpdemo-$TB_KV
rm -rf "$FLEET_DIR/patch-packages"
bash "$REPO_ROOT/packaging/patch/build.sh" --module "$FLEET_MODULES/lpdemo_v2.signed.ko" --release "$TB_KV" \
  --name lpdemo --deb --out "$FLEET_DIR/patch-packages" > "$E2E_OUT/patch-package.log" 2>&1 ||
  abort "packaging/patch/build.sh" "$(tail -n 3 "$E2E_OUT/patch-package.log")"
PDEB=$(find "$FLEET_DIR/patch-packages" -name "${PKG}_*.deb" | head -n1)
check "the patch package is built" "$PKG" "$(dpkg-deb -f "$PDEB" Package)"
R4=$E2E_OUT/report-4.json
rc=0
playbook rollout-4 livepatchd.agent.rollout -e "patch_deb=$PDEB" -e patch_name=lpdemo_v2 -e "rollout_report=$R4" || rc=$?
check "rollout.yml of a patch package exits 0" 0 "$rc" ||
  abort "the package rollout failed" "$(grep -E 'fatal|FAILED' "$E2E_OUT/rollout-4.log" | head -n 3)"
check "report 4: both patched" "guest1=patched guest2=patched" "$(json '[.hosts[] | "\(.host)=\(.outcome)"] | join(" ")' "$R4")"
for h in guest1 guest2; do
  check "$h: the package is installed" "install ok installed" "$(fleet_ssh "$h" "dpkg-query -W -f '\${Status}' $PKG")"
  check "$h: lpctl list shows lpdemo_v2 alone, enabled (lpdemo_v1 replaced)" "lpdemo_v2=enabled" \
    "$(fleet_ssh "$h" lpctl -o json list | jq -r '[.patches[] | "\(.name)=\(.state)"] | join(" ")')"
  check "$h: lpdemo_v2 comes from the package" "vendor $PKG" \
    "$(fleet_ssh "$h" lpctl -o json list --installed | jq -r '.patches[] | select(.name == "lpdemo_v2") | "\(.origin) \(.package)"')"
done
R5=$E2E_OUT/report-5.json
rc=0
playbook rollout-5 livepatchd.agent.rollout -e "patch_deb=$PDEB" -e patch_name=lpdemo_v2 -e "rollout_report=$R5" || rc=$?
check "rollout.yml of the package again exits 0" 0 "$rc"
check "rollout 5: guest1 changed=0" "changed=0 failed=0" "$(recap guest1 "$E2E_OUT/rollout-5.log")"
check "rollout 5: guest2 changed=0" "changed=0 failed=0" "$(recap guest2 "$E2E_OUT/rollout-5.log")"
check "report 5: both already patched" "guest1=already-patched guest2=already-patched" \
  "$(json '[.hosts[] | "\(.host)=\(.outcome)"] | join(" ")' "$R5")"
exit 0
