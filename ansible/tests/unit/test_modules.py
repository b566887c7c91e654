# The modules themselves, run as Ansible runs them (a process with an args file), against fake_lpctl.py: the
# first run changes the host, the second reports changed=false; check mode predicts without changing; lpctl's
# refusals fail with their reason.
import json
import os
import subprocess
import sys

import pytest
from conftest import COLLECTION, ROOT

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_lpctl.py")


@pytest.fixture
def host(tmp_path):
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"installed": [], "loaded": []}))
    ko = tmp_path / "lpdemo_v1.signed.ko"
    ko.write_bytes(b"\x7fELF a live patch module")

    class Host:
        def __init__(self):
            self.ko = str(ko)
            self.log = tmp_path / "calls.log"
            self.log.write_text("")

        def state(self):
            return json.loads(state.read_text())

        def set(self, **kw):
            s = self.state()
            s.update(kw)
            state.write_text(json.dumps(s))

        def calls(self):
            return [line for line in self.log.read_text().splitlines()]

        def mutations(self):
            return [c.split()[2] for c in self.calls()
                    if c.split()[2] in ("install", "load", "unload", "uninstall")]

        def run(self, module, check=False, diff=False, **params):
            params.setdefault("lpctl", FAKE)
            args = tmp_path / "args.json"
            args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(params, _ansible_check_mode=check, _ansible_diff=diff)}))
            env = dict(os.environ, PYTHONPATH=ROOT, FAKE_LPCTL_STATE=str(state), FAKE_LPCTL_LOG=str(self.log))
            path = os.path.join(COLLECTION, "plugins", "modules", module + ".py")
            p = subprocess.run([sys.executable, path, str(args)], env=env, capture_output=True, text=True)
            return json.loads(p.stdout)

    return Host()


def test_loaded_then_idempotent(host):
    r = host.run("livepatch", src=host.ko, state="loaded")
    assert r.get("failed") is not True, r
    assert r["changed"] is True and r["name"] == "lpdemo_v1"
    assert r["actions"] == ["install --now " + host.ko]
    assert host.mutations() == ["install"]
    assert [p["name"] for p in r["livepatch"]["patches"]] == ["lpdemo_v1"]
    assert r["livepatch"]["posture"] is None and "Posture:AdvisoriesDir" in r["livepatch"]["posture_problem"]
    r2 = host.run("livepatch", src=host.ko, state="loaded")
    assert r2["changed"] is False and r2["actions"] == []
    assert host.mutations() == ["install"]


def test_check_mode_changes_nothing_and_shows_the_diff(host):
    r = host.run("livepatch", check=True, diff=True, src=host.ko, state="loaded")
    assert r["changed"] is True
    assert r["diff"]["before"]["loaded"] is False and r["diff"]["after"]["loaded"] is True
    assert host.mutations() == [] and host.state()["installed"] == []


def test_absent_then_idempotent(host):
    host.run("livepatch", src=host.ko, state="loaded")
    r = host.run("livepatch", name="lpdemo_v1", state="absent", diff=True)
    assert r["changed"] is True and r["actions"] == ["uninstall lpdemo_v1", "unload lpdemo_v1"]
    assert r["diff"]["after"] == dict(r["diff"]["before"], installed=False, loaded=False, enabled=False, sha256=None,
                                      origin=None)
    assert host.run("livepatch", name="lpdemo_v1", state="absent")["changed"] is False


def test_refusal_fails_with_the_reason(host):
    host.set(refuse="kernel-mismatch")
    r = host.run("livepatch", src=host.ko, name="lpdemo_v1", state="loaded")
    assert r["failed"] is True and r["reason"] == "kernel-mismatch"
    assert "refused by the fake daemon" in r["msg"]
    assert host.mutations() == []


def test_vendor_patch_absent_fails_naming_the_package(host):
    entry = json.load(open(os.path.join(HERE, "fixtures", "installed-vendor.json")))["patches"][0]
    host.set(installed=[entry])
    r = host.run("livepatch", name="lpdemo_v1", state="absent")
    assert r["failed"] is True and r["reason"] == "vendor-patch"
    assert "livepatch-lpdemo-v1-6.1.0-57-amd64" in r["msg"]


def test_info_gate(host):
    before = host.run("livepatch_info")
    assert before["changed"] is False and before["livepatch"]["check"]["exitCode"] == 0
    host.run("livepatch", src=host.ko, state="loaded")
    r = host.run("livepatch_info", gate_patch="lpdemo_v1", baseline=before)
    assert r["gate"] == {"patch": "lpdemo_v1", "healthy": True, "failures": []}
    strict = host.run("livepatch_info", gate_patch="lpdemo_v1", baseline=before, allowed_taint=["K"])
    assert strict["gate"]["healthy"] is False
    assert [f["reason"] for f in strict["gate"]["failures"]] == ["new-taint"]
