# shellcheck shell=sh
# The daemon's core path with a module signed by the trusted test key: "lpctl verify" passes every check and
# names the signer, key (certificate serial) and digest, without loading anything; "lpctl load" verifies and
# loads exactly those bytes, waits for the transition and the kernel has the patch enabled (/proc/cmdline shows
# the banner); "lpctl unload" disables it, waits, and removes the module: the list is empty, /proc/cmdline is
# the original, /sys/module/lpdemo_v1 is gone. The security metadata lpdemo_v1.c declares (made-up CVE-2099 ids,
# a level) shows in verify, info and list with the source "signed": .modinfo is inside the signed bytes.

M=$LP_DIR/lpdemo_v1.signed.ko
original_cmdline=$(cat /proc/cmdline)
module_sha=$(sha256sum "$M" | cut -d' ' -f1)
start_daemon_trusted || exit 1

# ---- verify: every check passed or skipped, signer facts, nothing loaded
V=$E2E_WORK/verify.json
check_lpctl "lpctl -o json verify lpdemo_v1.signed.ko exits 0" 0 "$V" verify "$M"
save "$V"
check_json "verify: ok" .ok true "$V"
check_json "verify: no reason" .reason null "$V"
check_json "verify: no check failed" '[.checks[] | select(.result != "passed" and .result != "skipped") | .name] | join(" ")' "" "$V"
check_json "verify: the checks a load makes, in order" '[.checks[].name] | join(" ")' \
  "elf livepatch kernel-release vermagic-flags build-id signature-present signature kernel-policy metadata" "$V"
check_json "verify: signature checks passed" \
  '[.checks[] | select(.name | IN("signature-present", "signature")) | .result] | join(" ")' "passed passed" "$V"
check_json "verify: build-id skipped (no target given)" '.checks[] | select(.name == "build-id") | .result' skipped "$V"
check_json "verify: signer is the trusted test key's CN" .module.signature.signer "$TRUSTED_CN" "$V"
signer=$(json .module.signature.signer "$V")
check "the signer name is the subject of /lp/trusted.der" yes "$(grep -qF "$signer" "$LP_DIR/trusted.der" && echo yes)"
check_json "verify: digest" .module.signature.digestAlgorithm sha256 "$V"
check_json "verify: signature present and trusted" '"\(.module.signature.present) \(.module.signature.trusted)"' "true true" "$V"
key_id=$(json .module.signature.keyId "$V")
# sign-file identifies the signer by issuer and serial; the serial's bytes are in the certificate's DER.
check_contains "the key id is the trusted certificate's serial" "${key_id:-<none>}" \
  "$(od -An -v -tx1 "$LP_DIR/trusted.der" | tr -d ' \n')"
check_json "verify: module name" .module.name lpdemo_v1 "$V"
check_json "verify: sha256 of the file" .module.sha256 "$module_sha" "$V"
check_json "verify: size of the file" .module.size "$(wc -c < "$M" | tr -d ' ')" "$V"
check_json "verify: vermagic release is uname -r" '.module.vermagic | split(" ")[0]' "$(uname -r)" "$V"
check_json "verify: livepatch" .module.livepatch true "$V"
check_json "verify: kernel policy (no enforcement, no lockdown, no warnings)" \
  '"\(.kernelPolicy.sigEnforce) \(.kernelPolicy.lockdown) \(.kernelPolicy.warnings | length)"' "false none 0" "$V"
check_json "verify: metadata check passed" '.checks[] | select(.name == "metadata") | .result' passed "$V"
check_json "verify: CVE ids of the signed .modinfo" '.module.metadata.cveIds | join(",")' "CVE-2099-0001,CVE-2099-0002" "$V"
check_json "verify: metadata source signed" .module.metadata.metadataSource signed "$V"
check_json "verify: level 1 and CVE ids each signed" \
  '"\(.module.metadata.level) \(.module.metadata.sources.level) \(.module.metadata.sources.cveIds)"' "1 signed signed" "$V"
check_json "verify: no fixes version (lpdemo_v1 is not cumulative)" .module.metadata.fixesVersion null "$V"
check "verify loaded nothing: /sys/module/lpdemo_v1 absent" absent "$([ -e /sys/module/lpdemo_v1 ] && echo present || echo absent)"

check_rc "lpctl verify (table) exits 0" 0 lpctl verify "$M"
T=$(cat "$E2E_WORK/last.out")
check_contains "table names the signer" "$TRUSTED_CN" "$T"
check_contains "table shows the signature check passing" "signature          pass" "$T"
check_contains "table shows the CVE ids as signed" "CVE-2099-0001, CVE-2099-0002 (signed)" "$T"

# ---- load: verified bytes in, transition waited for, kernel has it enabled
L=$E2E_WORK/load.json
check_lpctl "lpctl -o json load lpdemo_v1.signed.ko exits 0" 0 "$L" load "$M" --timeout 45 || exit 1
save "$L"
check_json "load: name" .name lpdemo_v1 "$L"
check_json "load: transition completed" .transitionCompleted true "$L"
check_json "load: patch enabled" '"\(.patch.state) \(.patch.enabled)"' "enabled true" "$L"
check_json "load: the loaded bytes are the file's" .verification.module.sha256 "$module_sha" "$L"
check_json "load: signer" .verification.module.signature.signer "$TRUSTED_CN" "$L"
# The load waited for the transition, so the kernel must already agree (no waiting here).
check "kernel: lpdemo_v1 enabled, not in transition" "1 0" \
  "$(cat "$LP_SYSFS/lpdemo_v1/enabled" 2>&1) $(cat "$LP_SYSFS/lpdemo_v1/transition" 2>&1)"
check "kernel: module live" live "$(cat /sys/module/lpdemo_v1/initstate 2>&1)"
check_contains "kernel: module tainted E (the kernel does not know the key)" E "$(cat /sys/module/lpdemo_v1/taint 2>&1)"

LS=$E2E_WORK/list.json
lpctl_json "$LS" list || fail "lpctl -o json list exits 0" "rc $?"
save "$LS"
check_json "list: only lpdemo_v1" '[.patches[].name] | join(" ")' lpdemo_v1 "$LS"
check_json "list: lpdemo_v1 enabled" '.patches[0] | "\(.state) \(.enabled) \(.transition)"' "enabled true false" "$LS"
check_json "list: no leftovers" '.leftovers | length' 0 "$LS"
check_json "list: srcversion is the kernel's" '.patches[0].module.srcversion' "$(cat /sys/module/lpdemo_v1/srcversion)" "$LS"
check_json "list: lpdemo_v1's CVE ids, signed" '.patches[0] | "\(.metadata.cveIds | join(",")) \(.metadata.metadataSource)"' \
  "CVE-2099-0001,CVE-2099-0002 signed" "$LS"

# ---- info: the loaded patch keeps the metadata verified on the way in (the kernel keeps no .modinfo)
I=$E2E_WORK/info.json
check_lpctl "lpctl -o json info lpdemo_v1 exits 0" 0 "$I" info lpdemo_v1
save "$I"
check_json "info: CVE ids" '.patch.metadata.cveIds | join(",")' "CVE-2099-0001,CVE-2099-0002" "$I"
check_json "info: metadata source signed" .patch.metadata.metadataSource signed "$I"
check_json "info: summary from the signed .modinfo" '.patch.metadata.sources.summary' signed "$I"
check_rc "lpctl info lpdemo_v1 (table) exits 0" 0 lpctl info lpdemo_v1
T=$(cat "$E2E_WORK/last.out")
check_contains "info table: CVE ids, signed" "CVEs:         CVE-2099-0001, CVE-2099-0002 (signed)" "$T"
check_contains "info table: metadata signed" "Metadata:     signed: declared in the module's .modinfo, covered by a trusted signature" "$T"
check "/proc/cmdline shows the lpdemo_v1 banner" "lpdemo_v1: /proc/cmdline is live patched" "$(cat /proc/cmdline)"

# ---- unload: disabled, transition over, module removed
U=$E2E_WORK/unload.json
check_lpctl "lpctl -o json unload lpdemo_v1 exits 0" 0 "$U" unload lpdemo_v1 --timeout 45
save "$U"
check_json "unload: name, not a leftover" '"\(.name) \(.wasLeftover)"' "lpdemo_v1 false" "$U"
check "kernel: $LP_SYSFS/lpdemo_v1 gone" absent "$([ -e "$LP_SYSFS/lpdemo_v1" ] && echo present || echo absent)"
check "kernel: /sys/module/lpdemo_v1 gone" absent "$([ -e /sys/module/lpdemo_v1 ] && echo present || echo absent)"
check "/proc/cmdline is the original again" "$original_cmdline" "$(cat /proc/cmdline)"
lpctl_json "$LS" list || fail "lpctl -o json list exits 0" "rc $?"
check_json "list after unload: empty" '"\(.patches | length) \(.leftovers | length)"' "0 0" "$LS"

check_rc "lpctl unload of the removed patch exits 1" 1 lpctl -o json unload lpdemo_v1
check_contains "with patch-not-found" "(patch-not-found)" "$(cat "$E2E_WORK/last.out")"
