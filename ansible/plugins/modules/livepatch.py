#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: the LivePatchAgent authors. GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: livepatch
short_description: Install, load or remove a Linux kernel live patch through livepatchd
description:
  - Wraps C(lpctl -o json) of LivePatchAgent. Idempotent - it compares the patch's SHA-256 and its state in
    C(lpctl list --installed) and C(lpctl list) with what the task asks, and runs lpctl only to change something.
  - Errors of lpctl become a failure with the stable C(reason) (docs/errors.md), the message and the hint.
  - Read-only facts without a patch are the job of M(livepatchd.agent.livepatch_info).
version_added: "0.1.0"
options:
  name:
    description:
      - The patch name (the module name, with C(_) where the file name may have C(-)).
      - Optional with O(src) - then read from the module by C(lpctl verify).
    type: str
  src:
    description:
      - A live patch module file on the managed host (C(.ko), or C(.ko.gz)/C(.ko.xz)/C(.ko.zst)) for O(state=installed)
        or O(state=loaded). Copy it there first (M(ansible.builtin.copy)).
    type: path
  state:
    description:
      - C(installed) - in livepatchd's store for the running kernel (C(lpctl install)), loaded at every start-up.
      - C(loaded) - installed and enabled in the running kernel now (C(lpctl install --now), or C(lpctl load) of the
        installed file).
      - C(absent) - neither installed nor loaded (C(lpctl uninstall), C(lpctl unload)). A vendor patch (installed by an
        OS package into the vendor store) is removed only when O(package) names its package; otherwise the task fails
        with reason C(vendor-patch) and names the package to remove.
    type: str
    choices: [installed, loaded, absent]
    default: loaded
  package:
    description:
      - For a vendor patch - the OS package that delivers it (C(livepatch-SERIES-RELEASE)). With O(state=absent) the
        module removes this package (apt-get, else dnf, yum or zypper) before it unloads the patch. With
        O(state=installed) or O(state=loaded) it checks that the installed patch came from this package.
    type: str
  replace:
    description: Mark the installed patch cumulative (C(lpctl install --replace)).
    type: bool
    default: false
  timeout:
    description: The operation deadline in seconds for loads and unloads (C(--timeout)); the daemon's default if unset.
    type: int
extends_documentation_fragment:
  - livepatchd.agent.lpctl
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author:
  - LivePatchAgent authors
"""

EXAMPLES = r"""
- name: Apply a signed live patch now and at every boot
  livepatchd.agent.livepatch:
    src: /var/tmp/lp_cve_2026_1234.ko
    state: loaded

- name: Take a vendor patch off the host (removes its package, then unloads it)
  livepatchd.agent.livepatch:
    name: lp_cve_2026_1234
    package: livepatch-cve-2026-1234-6.1.0-57-amd64
    state: absent
"""

RETURN = r"""
name:
  description: The patch name.
  returned: always
  type: str
actions:
  description: The lpctl actions run (or, in check mode, that would run), e.g. C(install --now /var/tmp/x.ko).
  returned: always
  type: list
  elements: str
livepatch:
  description:
    - The facts after the task - C(status) (lpctl status), C(state), C(kernel_release), C(patches) (lpctl list),
      C(installed) (lpctl list --installed), C(health), C(posture) (lpctl cves, null when unavailable) and
      C(posture_problem).
  returned: always
  type: dict
reason:
  description: On failure, the stable reason of docs/errors.md (e.g. C(untrusted-signer), C(vendor-patch)).
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.livepatchd.agent.plugins.module_utils.lpctl import (
    LPCTL_ARGUMENT_SPEC, lpctl_for, LpctlError, PlanError, plan, gather, find_installed, find_loaded, is_enabled, sha256_file)


def remove_package(module, package):
    for tool, argv in (("apt-get", ["apt-get", "remove", "-y", package]), ("dnf", ["dnf", "remove", "-y", package]),
                       ("yum", ["yum", "remove", "-y", package]), ("zypper", ["zypper", "--non-interactive", "remove", package])):
        path = module.get_bin_path(tool)
        if path:
            argv[0] = path
            env = {"DEBIAN_FRONTEND": "noninteractive"} if tool == "apt-get" else None
            rc, out, err = module.run_command(argv, environ_update=env)
            if rc != 0:
                module.fail_json(msg="removing the package %s failed: %s" % (package, (err or out).strip()),
                                 reason="package-removal-failed", rc=rc)
            return
    module.fail_json(msg="no package manager (apt-get, dnf, yum, zypper) to remove %s" % package, reason="invalid-argument")


def snapshot(installed_doc, list_doc, name):
    entry = find_installed(installed_doc, name)
    patch = find_loaded(list_doc, name)
    return {
        "installed": entry is not None,
        "origin": (entry or {}).get("origin") or ("local" if entry else None),
        "package": (entry or {}).get("package") or None,
        "sha256": (entry or {}).get("sha256"),
        "loaded": patch is not None,
        "enabled": is_enabled(patch),
    }


def describe_action(action):
    kind = action[0]
    if kind == "install":
        return "install%s %s" % (" --now" if action[2] else "", action[1])
    return "%s %s" % (kind, action[1])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str"),
            src=dict(type="path"),
            state=dict(type="str", default="loaded", choices=["installed", "loaded", "absent"]),
            package=dict(type="str"),
            replace=dict(type="bool", default=False),
            timeout=dict(type="int"),
            **LPCTL_ARGUMENT_SPEC
        ),
        required_one_of=[["name", "src"]],
        supports_check_mode=True,
    )
    p = module.params
    lp = lpctl_for(module)
    timeout = ["--timeout", str(p["timeout"])] if p["timeout"] else []

    def fail(error):
        module.fail_json(**error.as_result())

    try:
        name, src, src_sha = p["name"], p["src"], None
        if src is not None and p["state"] != "absent":
            try:
                src_sha = sha256_file(src)
            except (IOError, OSError) as e:
                module.fail_json(msg="cannot read src %s: %s" % (src, e), reason="invalid-argument")
        if name is None:
            # The name from the module itself; a refusal (kernel-mismatch, untrusted-signer, ...) fails here with
            # its reason.
            name = lp.call("verify", src)[1]["module"]["name"]
        installed_doc, list_doc = lp.installed(), lp.patches()
        before = snapshot(installed_doc, list_doc, name)
        try:
            actions = plan(p["state"], name, installed_doc, list_doc, src, src_sha, p["package"])
        except PlanError as e:
            module.fail_json(msg=e.message, reason=e.reason, name=name)
        if src is not None and any(a[0] in ("install", "load") for a in actions):
            # Verify first, in check mode too: a refusal (untrusted-signer, kernel-mismatch, ...) fails with its
            # reason before anything changes.
            lp.call("verify", src)
        if not module.check_mode:
            for action in actions:
                kind = action[0]
                if kind == "install":
                    argv = ["install", action[1]] + (["--now"] if action[2] else []) + (["--replace"] if p["replace"] else [])
                    lp.call(*(argv + timeout))
                elif kind == "load":
                    lp.call("load", action[1], *timeout)
                elif kind == "uninstall":
                    lp.call("uninstall", name)
                elif kind == "remove-package":
                    remove_package(module, action[1])
                elif kind == "unload":
                    lp.call("unload", name, *timeout)
        facts = gather(lp, p["posture"])
        after = snapshot({"patches": facts["installed"]}, {"patches": facts["patches"]}, name)
        if module.check_mode:
            after = dict(before)
            for action in actions:
                if action[0] == "install":
                    after.update(installed=True, origin="local", sha256=src_sha)
                    if action[2]:
                        after.update(loaded=True, enabled=True)
                elif action[0] == "load":
                    after.update(loaded=True, enabled=True)
                elif action[0] in ("uninstall", "remove-package"):
                    after.update(installed=False, origin=None, package=None, sha256=None)
                elif action[0] == "unload":
                    after.update(loaded=False, enabled=False)
        result = dict(changed=bool(actions), name=name, actions=[describe_action(a) for a in actions], livepatch=facts)
        if module._diff:
            result["diff"] = {"before": before, "after": after, "before_header": name, "after_header": name}
        module.exit_json(**result)
    except LpctlError as e:
        fail(e)


if __name__ == "__main__":
    main()
