# -*- coding: utf-8 -*-
# Copyright: the LivePatchAgent authors. GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# The options every module of the collection has for reaching lpctl (module_utils/lpctl.py: LPCTL_ARGUMENT_SPEC).
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  lpctl:
    description: The lpctl command.
    type: str
    default: lpctl
  socket:
    description: The daemon's socket (C(--socket)); lpctl's default if unset.
    type: path
  posture:
    description: Also read the CVE posture (C(lpctl cves)).
    type: bool
    default: true
"""
