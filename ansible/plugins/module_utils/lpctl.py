# -*- coding: utf-8 -*-
# Shared by the livepatch and livepatch_info modules: running `lpctl -o json`, reading its documents, and the
# pure decisions (what a state needs done, whether the rollout gate holds) that the unit tests feed with
# recorded lpctl output. No third-party imports: the managed hosts have python3 and nothing else.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import re

# lpctl's exit codes (docs/api.md): 3 daemon unreachable, 4 permission denied.
EXIT_UNREACHABLE = 3
EXIT_DENIED = 4

# Taint bits a live patch load sets by itself (docs/fleet.md, "Rolling out a patch"): K (15) livepatch,
# O (12) out-of-tree module, E (13) module signature not verified by the kernel's own keyring (livepatchd trusts
# its own certificates, /etc/livepatchd/trusted.d, which the kernel does not know).
DEFAULT_ALLOWED_TAINT = ("K", "O", "E")
TAINT_LETTERS = {
    0: "P", 1: "F", 2: "S", 3: "R", 4: "M", 5: "B", 6: "U", 7: "D", 8: "A", 9: "W", 10: "C", 11: "I",
    12: "O", 13: "E", 14: "L", 15: "K", 16: "X", 17: "T", 18: "N",
}


# The options of every module for reaching lpctl (doc fragment livepatchd.agent.lpctl).
LPCTL_ARGUMENT_SPEC = dict(
    lpctl=dict(type="str", default="lpctl"),
    socket=dict(type="path"),
    posture=dict(type="bool", default=True),
)


def lpctl_for(module):
    """An Lpctl that runs through the AnsibleModule, from its lpctl and socket options."""
    name = module.params["lpctl"]
    binary = name if "/" in name else module.get_bin_path(name, required=True)
    return Lpctl(module.run_command, binary, module.params["socket"])


class LpctlError(Exception):
    """lpctl failed: reason is the stable reason (docs/errors.md) when lpctl gave one."""

    def __init__(self, command, rc, reason, message, hint=None, document=None):
        super(LpctlError, self).__init__(message)
        self.command = command
        self.rc = rc
        self.reason = reason
        self.message = message
        self.hint = hint
        self.document = document

    def as_result(self):
        return {
            "msg": "lpctl %s: %s (%s)" % (self.command, self.message, self.reason),
            "reason": self.reason,
            "hint": self.hint,
            "rc": self.rc,
            "lpctl": self.document,
        }


class Lpctl:
    """Runs lpctl through AnsibleModule.run_command (or any callable with its signature, in the tests)."""

    def __init__(self, run_command, binary="lpctl", socket=None):
        self._run = run_command
        self._binary = binary
        self._socket = socket

    def call(self, *args, **kwargs):
        """One `lpctl -o json ARGS`; returns (rc, document). Raises LpctlError unless rc is in ok_rcs."""
        ok_rcs = kwargs.get("ok_rcs", (0,))
        argv = [self._binary, "-o", "json"]
        if self._socket:
            argv += ["--socket", self._socket]
        argv += list(args)
        rc, out, err = self._run(argv)
        return rc, parse_document(args[0], rc, out, err, ok_rcs)

    def status(self):
        return self.call("status")[1]

    def patches(self):
        return self.call("list")[1]

    def installed(self):
        return self.call("list", "--installed")[1]

    def health(self):
        return self.call("health")[1]

    def check(self):
        # check exits 0-3 by design (the Nagios codes); its document says which.
        return self.call("check", ok_rcs=(0, 1, 2, 3))[1]

    def posture(self):
        return self.call("cves")[1]


def parse_document(command, rc, out, err, ok_rcs=(0,)):
    """lpctl's JSON document, or LpctlError with the reason from its `error` member (or stderr)."""
    doc = None
    text = (out or "").strip()
    if text:
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
    if rc in ok_rcs and isinstance(doc, dict):
        return doc
    error = doc.get("error") if isinstance(doc, dict) else None
    if isinstance(error, dict) and error.get("reason"):
        raise LpctlError(command, rc, error.get("reason"), error.get("message") or "", error.get("hint"), doc)
    if isinstance(doc, dict) and doc.get("ok") is False and doc.get("reason"):
        # verify's own document: ok false, the failed check's reason and message at the top.
        raise LpctlError(command, rc, doc["reason"], doc.get("message") or "", _hint(err), doc)
    stderr = (err or "").strip()
    reason = {EXIT_UNREACHABLE: "daemon-unreachable", EXIT_DENIED: "permission-denied"}.get(rc, "unknown")
    # In JSON mode lpctl appends the reason to its stderr line: "lpctl: ... (untrusted-signer)".
    tail = re.search(r"\(([a-z][a-z0-9-]*)\)$", stderr.splitlines()[0]) if stderr else None
    if tail and reason == "unknown":
        reason = tail.group(1)
    if rc in ok_rcs:
        message = "lpctl printed no JSON document"
    else:
        message = stderr.splitlines()[0] if stderr else "lpctl exited %d" % rc
        if message.startswith("lpctl: "):
            message = message[len("lpctl: "):]
    raise LpctlError(command, rc, reason, message, _hint(err), doc)


def _hint(err):
    for line in (err or "").splitlines():
        if line.startswith("hint: "):
            return line[len("hint: "):]
    return None


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_installed(installed_doc, name):
    """The running kernel's installed entry for name (list --installed), or None."""
    for entry in (installed_doc or {}).get("patches") or []:
        if entry.get("name") == name:
            return entry
    return None


def find_loaded(list_doc, name):
    """The registered patch (lpctl list) named name, or None."""
    for patch in (list_doc or {}).get("patches") or []:
        if patch.get("name") == name:
            return patch
    return None


def origin_of(entry):
    """`vendor` for a patch an OS package put into the vendor store, else `local` (also for a daemon before it)."""
    return (entry or {}).get("origin") or "local"


def is_enabled(patch):
    return bool(patch) and patch.get("enabled") is True and patch.get("state") == "enabled"


class PlanError(Exception):
    def __init__(self, reason, message):
        super(PlanError, self).__init__(message)
        self.reason = reason
        self.message = message


def plan(state, name, installed_doc, list_doc, src=None, src_sha256=None, package=None):
    """
    The lpctl actions that bring patch NAME to STATE, as a list of tuples, from the current documents:
      ("install", src, now)  lpctl install SRC [--now]
      ("load", path)         lpctl load PATH (an installed patch's store file, or SRC)
      ("uninstall", name)    lpctl uninstall NAME
      ("remove-package", p)  remove OS package P (a vendor patch whose package the task names)
      ("unload", name)       lpctl unload NAME
    An empty list means nothing to do. Raises PlanError when the state cannot be reached.
    """
    entry = find_installed(installed_doc, name)
    patch = find_loaded(list_doc, name)
    loaded = patch is not None
    actions = []
    if state == "absent":
        if entry is not None:
            if origin_of(entry) == "vendor":
                owner = entry.get("package") or None
                if not package:
                    raise PlanError(
                        "vendor-patch",
                        "%s was installed by the package %s into the vendor store; lpctl cannot uninstall it. Remove "
                        "the package (ansible.builtin.package: name=%s state=absent), or give this task "
                        "package: %s to let it remove the package" % (name, owner or "(unknown)", owner or "NAME", owner or "NAME"))
                if owner and owner != package:
                    raise PlanError(
                        "invalid-argument",
                        "%s comes from the package %s, not %s" % (name, owner, package))
                actions.append(("remove-package", package))
            else:
                actions.append(("uninstall", name))
        if loaded:
            actions.append(("unload", name))
        return actions

    if state not in ("installed", "loaded"):
        raise PlanError("invalid-argument", "state must be installed, loaded or absent, not %r" % state)
    if package and entry is not None and origin_of(entry) == "vendor" and entry.get("package") not in (None, "", package):
        raise PlanError("invalid-argument", "%s comes from the package %s, not %s" % (name, entry.get("package"), package))

    same = entry is not None and (src_sha256 is None or entry.get("sha256") == src_sha256)
    if entry is None and src is None:
        if package:
            raise PlanError(
                "not-installed",
                "%s is not installed: install the package %s first (ansible.builtin.apt or ansible.builtin.package)" % (name, package))
        raise PlanError("not-installed", "%s is not installed and the task gives no src to install it from" % name)
    if not same:
        if entry is not None and origin_of(entry) == "vendor":
            raise PlanError(
                "vendor-patch",
                "%s is a vendor patch of the package %s; its build differs from src: upgrade the package instead"
                % (name, entry.get("package") or "(unknown)"))
        if loaded and state == "loaded":
            raise PlanError(
                "already-loaded",
                "%s is loaded with another build than src; the kernel cannot load a second module of that name. "
                "Ship the new build as a cumulative patch under a new name (replace), or unload %s first" % (name, name))
        actions.append(("install", src, state == "loaded" and not loaded))
        return actions
    if state == "loaded" and not is_enabled(patch):
        if loaded:
            raise PlanError(
                "already-loaded",
                "%s is registered but %s, not enabled: see lpctl status (a transition may be running or stalled)"
                % (name, patch.get("state")))
        actions.append(("load", src if src is not None else entry.get("path")))
    return actions


def taint_letters(mask):
    if mask is None:
        return set()
    return set(letter for bit, letter in TAINT_LETTERS.items() if int(mask) >> bit & 1)


def evaluate_gate(before_status, after_status, check_doc, health_doc, patch, allowed_taint=DEFAULT_ALLOWED_TAINT,
                  baseline_report_ids=None):
    """
    The rollout gate after PATCH was applied on one host: a list of failed conditions (empty: the gate holds),
    each {"reason", "message"}. From `lpctl -o json status` before and after, `check` and `health` after.
    """
    failures = []

    def fail(reason, message):
        failures.append({"reason": reason, "message": message})

    state = (after_status or {}).get("state")
    if state == "stalled" or (after_status or {}).get("blockingTasks"):
        fail("stalled", "a transition is stalled: %s" % describe_transition(after_status))
    elif state == "transitioning":
        fail("transitioning", "a transition is still running: %s" % describe_transition(after_status))
    code = (check_doc or {}).get("exitCode")
    if code != 0:
        fail("check", "lpctl check: %s (exit %s)" % ((check_doc or {}).get("message") or "no answer", code))
    before_mask = ((before_status or {}).get("kernel") or {}).get("taintMask")
    after_mask = ((after_status or {}).get("kernel") or {}).get("taintMask")
    if after_mask is None:
        fail("taint-unknown", "the kernel's taint mask is unknown after the patch")
    else:
        new = taint_letters(after_mask) - taint_letters(before_mask or 0)
        bad = sorted(new - set(allowed_taint))
        if bad:
            fail("new-taint", "new kernel taint since before the patch: %s (mask %s -> %s)"
                 % ("".join(bad), before_mask, after_mask))
    health = health_doc or {}
    if health.get("reader") not in ("watching", "unavailable"):
        fail("health-reader", "the health guard is not reading the kernel log: %s %s"
             % (health.get("reader"), health.get("readerProblem") or ""))
    quarantined = [q.get("name") for q in health.get("quarantined") or []]
    if patch in quarantined:
        fail("quarantined", "the health guard quarantined %s" % patch)
    seen = set(baseline_report_ids or [])
    for report in health.get("reports") or []:
        if report.get("id") in seen:
            continue
        if report.get("patch") == patch or report.get("kind") in ("bug", "hard-lockup", "soft-lockup"):
            fail("kernel-report", "kernel %s after the patch: %s (attribution %s)"
                 % (report.get("kind"), report.get("headline"), report.get("attribution")))
    return failures


def describe_transition(status):
    t = (status or {}).get("transition") or {}
    return "%s %s for %ss" % (t.get("patch"), "patching" if t.get("patching") else "unpatching", t.get("elapsedSeconds"))


def gather(lp, posture=True):
    """The facts both modules return: daemon status, loaded patches, installed patches, health, CVE posture."""
    status = lp.status()
    facts = {
        "status": status,
        "state": status.get("state"),
        "kernel_release": (status.get("kernel") or {}).get("release"),
        "patches": lp.patches().get("patches") or [],
        "installed": lp.installed().get("patches") or [],
        "health": status.get("health"),
        "posture": None,
        "posture_problem": None,
    }
    if posture:
        try:
            facts["posture"] = lp.posture()
        except LpctlError as e:
            # No advisory feed configured is not an error of the host: the posture is then only unknown.
            facts["posture_problem"] = "%s (%s)" % (e.message, e.reason)
    return facts
