"""The fixture kernel tree the browser tests serve through a real livepatchd (--host-root).

The same layout as tests/LivePatchAgent.Testing/SysfsFixture.cs (kernel 6.1: objects have "patched"), plus a small
stand-in for the kernel's side of the writes livepatchd makes, so that unload, revert and force complete:
  - writing 0 to a patch's "enabled" starts its unpatching transition, which ends a moment later with the patch
    directory and its module gone (a revert of a patching transition is the same write);
  - writing 1 to "enabled" during an unpatching transition (a revert of an unload) reverses it: a moment later the
    patch is enabled and out of transition again;
  - writing 1 to "force" ends the running transition at once: every task takes the target state.
livepatchd then calls delete_module on the real kernel, which answers ENOENT for these made-up names: gone.
"""

import os
import shutil
import tempfile
import threading
import time

RELEASE = "6.1.0-56-amd64"
BOOT_ID = "3f1c2a9e-1d2b-4c5d-8e9f-0a1b2c3d4e5f"


class Fixture:
    def __init__(self, root=None):
        self.root = root or tempfile.mkdtemp(prefix="lpc-fixture-")
        self._enabled = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.write("proc/sys/kernel/osrelease", RELEASE + "\n")
        self.write("proc/sys/kernel/version", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)\n")
        self.write("proc/sys/kernel/random/boot_id", BOOT_ID + "\n")
        self.write("proc/sys/kernel/tainted", str(1 << 15 | 1 << 12 | 1 << 13) + "\n")
        self.write("proc/sys/kernel/modules_disabled", "0\n")
        self.write("proc/sys/kernel/ftrace_enabled", "1\n")
        self.write("proc/cmdline", "console=ttyS0 quiet\n")
        self.write("sys/kernel/security/lockdown", "none [integrity] confidentiality\n")
        self.write("sys/module/module/parameters/sig_enforce", "Y\n")
        self.write("proc/modules", "virtio_net 73728 0 - Live 0x0000000000000000\n")
        os.makedirs(self.path("sys/kernel/livepatch"), exist_ok=True)
        self._thread = threading.Thread(target=self._simulate, daemon=True)

    def path(self, relative):
        return os.path.join(self.root, relative)

    def write(self, relative, content):
        """Writes a file by rename, so that the daemon never reads half a value."""
        path = self.path(relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".tmp", "w") as f:
            f.write(content)
        os.replace(path + ".tmp", path)

    def read(self, relative):
        try:
            with open(self.path(relative)) as f:
                return f.read().strip()
        except FileNotFoundError:
            return None

    def add_patch(self, name, functions, enabled=True, transition=False):
        """Registers a patch (functions: [(object, function)]) and its module, as a finished or running load."""
        with self._lock:
            base = f"sys/kernel/livepatch/{name}"
            for obj, function in functions:
                os.makedirs(self.path(f"{base}/{obj}/{function},1"), exist_ok=True)
                self.write(f"{base}/{obj}/patched", "1\n")
            self.write(f"{base}/transition", "1\n" if transition else "0\n")
            self.write(f"{base}/force", "")
            self.write(f"{base}/enabled", "1\n" if enabled else "0\n")
            module = f"sys/module/{name}"
            if not os.path.isdir(self.path(module)):
                listed = self.read("proc/modules") or ""
                self.write("proc/modules", f"{name} 16384 1 - Live 0x0000000000000000 (OEK)\n{listed}\n")
            for attr, value in (("refcnt", "1"), ("taint", "OEK"), ("initstate", "live"), ("srcversion", "0123456789ABCDEF0123456")):
                self.write(f"{module}/{attr}", value + "\n")
            self._enabled[name] = enabled

    def set_transition(self, name, on):
        self.write(f"sys/kernel/livepatch/{name}/transition", "1\n" if on else "0\n")

    def remove_patch(self, name):
        with self._lock:
            shutil.rmtree(self.path(f"sys/kernel/livepatch/{name}"), ignore_errors=True)
            shutil.rmtree(self.path(f"sys/module/{name}"), ignore_errors=True)
            lines = [l for l in (self.read("proc/modules") or "").splitlines() if l and l.split(" ", 1)[0] != name]
            self.write("proc/modules", "".join(l + "\n" for l in lines))
            self._enabled.pop(name, None)

    def add_task(self, pid, comm, patch_state, stack):
        """A user thread (thread-group leader) with its patch_state and kernel stack."""
        self.write(f"proc/{pid}/task/{pid}/patch_state", f"{patch_state}\n")
        self.write(f"proc/{pid}/task/{pid}/comm", comm + "\n")
        self.write(f"proc/{pid}/task/{pid}/stack", "".join(f + "\n" for f in stack))
        self.write(f"proc/{pid}/comm", comm + "\n")
        self.write(f"proc/{pid}/cmdline", comm + "\0")
        self.write(f"proc/{pid}/stat", f"{pid} ({comm}) S 1 {pid} {pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n")
        self.write(f"proc/{pid}/cgroup", "0::/system.slice/test.service\n")

    def start_unpatch(self, name):
        """An unload in progress (as if another tool had written 0 to enabled): it runs until something ends it."""
        with self._lock:
            self._enabled[name] = False
            self.set_transition(name, True)
            self.write(f"sys/kernel/livepatch/{name}/enabled", "0\n")

    def remove_task(self, pid):
        shutil.rmtree(self.path(f"proc/{pid}"), ignore_errors=True)

    def set_task_state(self, pid, patch_state):
        self.write(f"proc/{pid}/task/{pid}/patch_state", f"{patch_state}\n")

    def _tasks(self):
        proc = self.path("proc")
        return [int(d) for d in os.listdir(proc) if d.isdigit()]

    # The kernel's side of livepatchd's writes.
    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()

    def _simulate(self):
        removals, reversals = {}, {}
        while not self._stop.wait(0.05):
            with self._lock:
                names = list(self._enabled.items())
            now = time.monotonic()
            for name, was_enabled in names:
                base = f"sys/kernel/livepatch/{name}"
                enabled = self.read(f"{base}/enabled")
                if enabled is None:
                    continue
                if self.read(f"{base}/force") == "1":
                    self.write(f"{base}/force", "")
                    self.set_transition(name, False)
                    for pid in self._tasks():
                        self.set_task_state(pid, 1 if enabled == "1" else 0)
                if enabled == "0" and was_enabled and name not in removals:
                    # An unpatch (or the reversal of a patching transition) starts now and ends 300 ms later.
                    self.set_transition(name, True)
                    removals[name] = now + 0.3
                elif enabled == "1" and not was_enabled and name not in reversals:
                    # The reversal of an unpatching transition.
                    self._enabled[name] = True
                    reversals[name] = now + 0.3
            for name, due in list(reversals.items()):
                if now >= due:
                    del reversals[name]
                    for pid in self._tasks():
                        self.set_task_state(pid, -1)
                    self.set_transition(name, False)
            for name, due in list(removals.items()):
                if now >= due:
                    del removals[name]
                    for pid in self._tasks():
                        self.set_task_state(pid, -1)
                    self.remove_patch(name)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
