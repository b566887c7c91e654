#!/usr/bin/python3
# A stand-in lpctl for the module tests: answers `lpctl -o json ...` from a state file (FAKE_LPCTL_STATE) built on
# the recorded fixtures, and changes that state on install/load/unload/uninstall like the daemon would. Every call
# is appended to FAKE_LPCTL_LOG, so a test sees which mutations the module ran.
import copy
import hashlib
import json
import os
import sys

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def fixture(name):
    with open(os.path.join(FIX, name)) as f:
        return json.load(f)


def main(argv):
    state_file = os.environ["FAKE_LPCTL_STATE"]
    with open(os.environ["FAKE_LPCTL_LOG"], "a") as log:
        log.write(" ".join(argv) + "\n")
    with open(state_file) as f:
        state = json.load(f)
    args = [a for a in argv if a not in ("-o", "json")]
    cmd, rest = args[0], args[1:]
    installed, loaded = state["installed"], state["loaded"]

    def out(doc, rc=0):
        print(json.dumps(dict({"schemaVersion": 1}, **doc)))
        with open(state_file, "w") as f:
            json.dump(state, f)
        return rc

    def err(reason, message, rc=1):
        return out({"error": {"reason": reason, "message": message, "hint": None}}, rc)

    def module_name(path):
        if state.get("refuse"):
            return None
        return os.path.basename(path).split(".")[0]

    if cmd == "status":
        return out(fixture("status-patched.json" if loaded else "status-idle.json"))
    if cmd == "list" and rest == ["--installed"]:
        return out({"runningRelease": "6.1.0-57-amd64", "patches": installed, "problems": []})
    if cmd == "list":
        return out({"patches": loaded, "leftovers": []})
    if cmd == "check":
        return out(fixture("check-ok.json"))
    if cmd == "cves":
        return err("invalid-argument", "no advisories directory is configured (Posture:AdvisoriesDir)")
    if cmd == "verify":
        if state.get("refuse"):
            return err(state["refuse"], "refused by the fake daemon")
        return out({"ok": True, "reason": None, "module": {"name": module_name(rest[0])}})
    if cmd == "install":
        path = rest[0]
        if state.get("refuse"):
            return err(state["refuse"], "refused by the fake daemon")
        name = module_name(path)
        with open(path, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        entry = copy.deepcopy(fixture("installed-v1.json")["patches"][0])
        entry.update(name=name, sha256=sha, loaded="--now" in rest)
        state["installed"] = [e for e in installed if e["name"] != name] + [entry]
        if "--now" in rest:
            patch = copy.deepcopy(fixture("list-v1.json")["patches"][0])
            patch["name"] = name
            state["loaded"] = loaded + [patch]
        return out({"installed": entry, "replacedPrevious": False})
    if cmd == "load":
        name = module_name(rest[0])
        patch = copy.deepcopy(fixture("list-v1.json")["patches"][0])
        patch["name"] = name
        state["loaded"] = loaded + [patch]
        return out({"name": name, "transitionCompleted": True})
    if cmd == "unload":
        state["loaded"] = [p for p in loaded if p["name"] != rest[0]]
        return out({"name": rest[0], "wasLeftover": False})
    if cmd == "uninstall":
        entry = next((e for e in installed if e["name"] == rest[0]), None)
        if entry is None:
            return err("not-installed", "%s is not installed" % rest[0])
        if entry.get("origin") == "vendor":
            return err("vendor-patch", "installed by a package")
        state["installed"] = [e for e in installed if e["name"] != rest[0]]
        return out({"name": rest[0], "stillLoaded": False})
    return err("unknown", "the fake lpctl has no %s" % cmd, 2)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
