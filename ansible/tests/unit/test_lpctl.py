# The decisions of module_utils/lpctl.py, fed recorded and schema-built `lpctl -o json` documents (fixtures/).
import pytest
from conftest import load_fixture

from ansible_collections.livepatchd.agent.plugins.module_utils import lpctl as L

SHA = load_fixture("installed-v1.json")["patches"][0]["sha256"]
OTHER = "0" * 64
SRC = "/var/cache/livepatchd-ansible/lpdemo_v1.signed.ko"


def plan(state, installed, listed, src=SRC, sha=SHA, package=None, name="lpdemo_v1"):
    return L.plan(state, name, load_fixture(installed), load_fixture(listed), src, sha, package)


# ---- plan: idempotence
def test_loaded_on_a_fresh_host_installs_and_loads():
    assert plan("loaded", "installed-empty.json", "list-empty.json") == [("install", SRC, True)]


def test_installed_on_a_fresh_host_installs_only():
    assert plan("installed", "installed-empty.json", "list-empty.json") == [("install", SRC, False)]


def test_loaded_twice_does_nothing():
    assert plan("loaded", "installed-v1.json", "list-v1.json") == []


def test_installed_when_loaded_does_nothing():
    assert plan("installed", "installed-v1.json", "list-v1.json") == []


def test_loaded_by_name_only_when_enabled_does_nothing():
    assert plan("loaded", "installed-v1.json", "list-v1.json", src=None, sha=None) == []


def test_installed_but_not_loaded_loads_the_src():
    assert plan("loaded", "installed-v1-unloaded.json", "list-empty.json") == [("load", SRC)]


def test_installed_but_not_loaded_by_name_loads_the_store_file():
    assert plan("loaded", "installed-v1-unloaded.json", "list-empty.json", src=None, sha=None) == [
        ("load", "/var/lib/livepatchd/patches/6.1.0-57-amd64/lpdemo_v1.ko")]


def test_another_build_when_not_loaded_is_installed_again():
    assert plan("installed", "installed-v1-unloaded.json", "list-empty.json", sha=OTHER) == [("install", SRC, False)]


def test_another_build_while_loaded_is_refused():
    with pytest.raises(L.PlanError) as e:
        plan("loaded", "installed-v1.json", "list-v1.json", sha=OTHER)
    assert e.value.reason == "already-loaded"


def test_a_stalled_registration_is_not_loaded_again():
    with pytest.raises(L.PlanError) as e:
        plan("loaded", "installed-v1.json", "list-v1-stalled.json")
    assert e.value.reason == "already-loaded" and "stalled" in e.value.message


def test_not_installed_without_src_fails():
    with pytest.raises(L.PlanError) as e:
        plan("loaded", "installed-empty.json", "list-empty.json", src=None, sha=None)
    assert e.value.reason == "not-installed"


# ---- plan: absent, local and vendor patches
def test_absent_uninstalls_then_unloads():
    assert plan("absent", "installed-v1.json", "list-v1.json", src=None, sha=None) == [
        ("uninstall", "lpdemo_v1"), ("unload", "lpdemo_v1")]


def test_absent_twice_does_nothing():
    assert plan("absent", "installed-empty.json", "list-empty.json", src=None, sha=None) == []


def test_absent_of_a_loaded_but_uninstalled_patch_unloads():
    assert plan("absent", "installed-empty.json", "list-v1.json", src=None, sha=None) == [("unload", "lpdemo_v1")]


def test_absent_vendor_patch_without_package_names_the_package():
    with pytest.raises(L.PlanError) as e:
        plan("absent", "installed-vendor.json", "list-v1.json", src=None, sha=None)
    assert e.value.reason == "vendor-patch"
    assert "livepatch-lpdemo-v1-6.1.0-57-amd64" in e.value.message


def test_absent_vendor_patch_with_its_package_removes_it_then_unloads():
    assert plan("absent", "installed-vendor.json", "list-v1.json", src=None, sha=None,
                package="livepatch-lpdemo-v1-6.1.0-57-amd64") == [
        ("remove-package", "livepatch-lpdemo-v1-6.1.0-57-amd64"), ("unload", "lpdemo_v1")]


def test_absent_vendor_patch_with_another_package_is_refused():
    with pytest.raises(L.PlanError) as e:
        plan("absent", "installed-vendor.json", "list-v1.json", src=None, sha=None, package="livepatch-other")
    assert e.value.reason == "invalid-argument"


def test_vendor_patch_loaded_is_left_alone():
    assert plan("loaded", "installed-vendor.json", "list-v1.json", src=None, sha=None,
                package="livepatch-lpdemo-v1-6.1.0-57-amd64") == []


def test_vendor_patch_is_not_replaced_by_src():
    with pytest.raises(L.PlanError) as e:
        plan("installed", "installed-vendor.json", "list-empty.json", sha=OTHER)
    assert e.value.reason == "vendor-patch"


def test_a_daemon_before_the_vendor_store_means_local():
    assert L.origin_of(load_fixture("installed-v1.json")["patches"][0]) == "local"
    assert L.origin_of(load_fixture("installed-vendor.json")["patches"][0]) == "vendor"


# ---- parse_document: lpctl's errors
def test_error_document_becomes_reason_and_message():
    text = open(__import__("conftest").FIXTURES + "/error-untrusted-signer.json").read()
    with pytest.raises(L.LpctlError) as e:
        L.parse_document("install", 1, text, "lpctl: ... (untrusted-signer)")
    assert e.value.reason == "untrusted-signer"
    r = e.value.as_result()
    assert r["reason"] == "untrusted-signer" and "trusted.d" in r["msg"] and r["hint"].startswith("Put")


def test_unreachable_daemon_without_json():
    with pytest.raises(L.LpctlError) as e:
        L.parse_document("status", 3, "", "lpctl: cannot reach livepatchd at /run/livepatchd/livepatchd.sock\n")
    assert e.value.reason == "daemon-unreachable"
    assert e.value.message == "cannot reach livepatchd at /run/livepatchd/livepatchd.sock"


def test_check_exit_2_is_an_answer():
    text = open(__import__("conftest").FIXTURES + "/check-stalled.json").read()
    assert L.parse_document("check", 2, text, "", ok_rcs=(0, 1, 2, 3))["status"] == "CRITICAL"


def test_exit_0_without_json_is_an_error():
    with pytest.raises(L.LpctlError):
        L.parse_document("status", 0, "not json", "")


# ---- the rollout gate
def gate(after, check="check-ok.json", before="status-idle.json", patch="lpdemo_v1", baseline_ids=None):
    a = load_fixture(after)
    return L.evaluate_gate(load_fixture(before), a, load_fixture(check), a["health"], patch,
                           baseline_report_ids=baseline_ids)


def test_gate_holds_after_a_clean_patch():
    assert gate("status-patched.json") == []


def test_gate_fails_on_a_stall():
    reasons = [f["reason"] for f in gate("status-stalled.json", check="check-stalled.json", patch="lpdemo_sleeper")]
    assert reasons == ["stalled", "check"]


def test_gate_waits_for_a_running_transition():
    assert [f["reason"] for f in gate("status-transitioning.json")] == ["transitioning"]


def test_gate_fails_on_a_new_warning_taint_and_report():
    reasons = [f["reason"] for f in gate("status-warned.json", patch="lpdemo_warn")]
    assert reasons == ["new-taint", "kernel-report"]


def test_gate_ignores_taint_that_was_there_before():
    assert [f["reason"] for f in gate("status-warned.json", before="status-warned.json", patch="lpdemo_warn",
                                      baseline_ids=[1])] == []


def test_gate_fails_on_quarantine():
    assert "quarantined" in [f["reason"] for f in gate("status-quarantined.json", patch="lpdemo_warn")]


def test_gate_without_allowed_bits_sees_the_livepatch_taint():
    a = load_fixture("status-patched.json")
    failures = L.evaluate_gate(load_fixture("status-idle.json"), a, load_fixture("check-ok.json"), a["health"],
                               "lpdemo_v1", allowed_taint=())
    assert failures[0]["reason"] == "new-taint" and "EKO" in failures[0]["message"]


def test_verify_document_that_failed_carries_its_reason():
    doc = '{"schemaVersion": 1, "ok": false, "reason": "kernel-mismatch", "message": "built for 6.1.0-57-xxxxx", "checks": [], "module": {"name": "lpdemo_v1"}}'
    with pytest.raises(L.LpctlError) as e:
        L.parse_document("verify", 1, doc, "lpctl: built for 6.1.0-57-xxxxx (kernel-mismatch)\nhint: Build it for this kernel.\n")
    assert (e.value.reason, e.value.message, e.value.hint) == ("kernel-mismatch", "built for 6.1.0-57-xxxxx", "Build it for this kernel.")


def test_reason_from_stderr_when_no_document():
    with pytest.raises(L.LpctlError) as e:
        L.parse_document("load", 1, "", "lpctl: the module is already loaded (already-loaded)\n")
    assert e.value.reason == "already-loaded"


# ---- recorded output of a real guest (e2e 52-fleet-rollout, after rollout.yml applied lpdemo_v1)
def test_recorded_patched_guest_needs_nothing():
    installed, listed = load_fixture("recorded-list-installed.json"), load_fixture("recorded-list.json")
    sha = installed["patches"][0]["sha256"]
    assert L.plan("loaded", "lpdemo_v1", installed, listed, SRC, sha) == []


def test_recorded_patched_guest_with_another_build_is_refused():
    with pytest.raises(L.PlanError) as e:
        L.plan("loaded", "lpdemo_v1", load_fixture("recorded-list-installed.json"), load_fixture("recorded-list.json"),
               SRC, OTHER)
    assert e.value.reason == "already-loaded"


def test_recorded_patched_guest_passes_the_gate():
    after = load_fixture("recorded-status.json")
    assert after["kernel"]["taintFlags"] == "OEK"
    assert L.evaluate_gate(load_fixture("status-idle.json"), after, load_fixture("recorded-check.json"),
                           load_fixture("recorded-health.json"), "lpdemo_v1") == []


def test_recorded_guest_gate_fails_when_only_k_is_allowed():
    failures = L.evaluate_gate(load_fixture("status-idle.json"), load_fixture("recorded-status.json"),
                               load_fixture("recorded-check.json"), load_fixture("recorded-health.json"), "lpdemo_v1",
                               allowed_taint=("K",))
    assert [f["reason"] for f in failures] == ["new-taint"]


def test_recorded_posture_without_advisories_is_a_document():
    text = open(__import__("conftest").FIXTURES + "/recorded-cves.json").read()
    assert L.parse_document("cves", 0, text, "")["available"] is False
