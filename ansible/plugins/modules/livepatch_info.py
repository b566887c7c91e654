#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: the LivePatchAgent authors. GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: livepatch_info
short_description: Facts of livepatchd, and the rollout gate of a live patch
description:
  - Reads C(lpctl -o json) status, list, list --installed, health, check and cves; never changes anything.
  - With O(gate_patch) it also judges the rollout gate for that patch against O(baseline) (this module's result
    from before the patch) - no stall or running transition, C(lpctl check) OK, no new kernel taint bit other than
    O(allowed_taint), the health guard reading the kernel log, the patch not quarantined and no new kernel report
    attributed to it (nor any new bug or lockup).
version_added: "0.1.0"
options:
  gate_patch:
    description: The patch whose rollout gate to judge; unset - no gate.
    type: str
  baseline:
    description: The registered result of this module before the patch was applied (its C(livepatch) member or the whole result).
    type: dict
  allowed_taint:
    description: Taint letters a live patch load may set (K livepatch, O out-of-tree, E signature not checked by the kernel).
    type: list
    elements: str
    default: [K, O, E]
extends_documentation_fragment:
  - livepatchd.agent.lpctl
attributes:
  check_mode:
    support: full
author:
  - LivePatchAgent authors
"""

EXAMPLES = r"""
- name: Facts before the patch
  livepatchd.agent.livepatch_info:
  register: lp_before

- name: The gate after it
  livepatchd.agent.livepatch_info:
    gate_patch: lpdemo_v1
    baseline: "{{ lp_before.livepatch }}"
  register: lp_gate
  failed_when: not lp_gate.gate.healthy
"""

RETURN = r"""
livepatch:
  description: status, state, kernel_release, patches, installed, health, posture, posture_problem, check (lpctl check's document).
  returned: always
  type: dict
gate:
  description: With gate_patch - C(healthy) (bool), C(failures) (list of reason and message), C(patch).
  returned: when gate_patch is set
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.livepatchd.agent.plugins.module_utils.lpctl import (
    LPCTL_ARGUMENT_SPEC, lpctl_for, LpctlError, gather, evaluate_gate)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            gate_patch=dict(type="str"),
            baseline=dict(type="dict"),
            allowed_taint=dict(type="list", elements="str", default=["K", "O", "E"]),
            **LPCTL_ARGUMENT_SPEC
        ),
        supports_check_mode=True,
    )
    p = module.params
    lp = lpctl_for(module)
    try:
        facts = gather(lp, p["posture"])
        facts["check"] = lp.check()
    except LpctlError as e:
        module.fail_json(**e.as_result())
    result = dict(changed=False, livepatch=facts)
    if p["gate_patch"]:
        baseline = p["baseline"] or {}
        baseline = baseline.get("livepatch", baseline)
        report_ids = [r.get("id") for r in ((baseline.get("health") or {}).get("reports") or [])]
        failures = evaluate_gate(baseline.get("status"), facts["status"], facts["check"], facts["health"],
                                 p["gate_patch"], p["allowed_taint"], report_ids)
        result["gate"] = dict(patch=p["gate_patch"], healthy=not failures, failures=failures)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
