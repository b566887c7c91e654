"""Starts the real pieces for the browser tests: a private system bus (dbus-daemon with the system bus's default
policy and ours), the published livepatchd on a fixture tree, Debian's cockpit-ws with cockpit-bridge as the local
session (one as root, one as nobody), and headless Chromium through chromedriver (python3-selenium)."""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

from fixture import BOOT_ID, Fixture

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COCKPIT_WS = "/usr/lib/cockpit/cockpit-ws"

# The private bus's configuration, shared with the integration tests' DBusTestBus.
TEST_DATA = os.path.join(REPO, "tests/LivePatchAgent.Testing/TestData")
BUS_CONFIG = os.path.join(TEST_DATA, "private-system-bus.conf.in")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


class Stack:
    def __init__(self, bin_dir, dist_dir, screenshots):
        self.bin_dir = os.path.abspath(bin_dir)
        self.dist_dir = os.path.abspath(dist_dir)
        self.screenshots = screenshots
        self.dir = tempfile.mkdtemp(prefix="lpc-")
        os.chmod(self.dir, 0o755)
        self.fixture = Fixture(os.path.join(self.dir, "host"))
        self.state_dir = os.path.join(self.dir, "state")
        os.makedirs(self.state_dir)
        self.processes = []
        self.logs = []

    def _spawn(self, name, args, env=None, user=None):
        log = open(os.path.join(self.dir, name + ".log"), "w")
        self.logs.append((name, log.name))
        preexec = None
        if user is not None:
            entry = pwd.getpwnam(user)

            def preexec():
                os.setgroups([])
                os.setgid(entry.pw_gid)
                os.setuid(entry.pw_uid)
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=preexec,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        self.processes.append(process)
        return process

    def start(self):
        # The bus: world-reachable, so that the nobody session can use it too.
        self.bus_socket = os.path.join(self.dir, "bus.sock")
        self.bus_address = f"unix:path={self.bus_socket}"
        config = os.path.join(self.dir, "bus.conf")
        with open(BUS_CONFIG) as template, open(config, "w") as f:
            f.write(template.read().replace("@SOCKET@", self.bus_socket)
                    .replace("@POLICY@", os.path.join(REPO, "systemd/dbus-1/org.livepatchd.Agent1.conf")))
        self._spawn("dbus-daemon", ["dbus-daemon", f"--config-file={config}", "--nofork", "--nopidfile"])
        wait_for(lambda: os.path.exists(self.bus_socket), what="the private bus")

        # The daemon, on the fixture tree, with a stall after 2 s that nobody resolves.
        self.api_socket = os.path.join(self.dir, "livepatchd.sock")
        # The signer of the committed test modules (TestData/README.md) is the one trusted certificate.
        trusted = os.path.join(self.dir, "trusted.d")
        os.makedirs(trusted)
        shutil.copy(os.path.join(TEST_DATA, "trusted.pem"), trusted)
        daemon_config = os.path.join(self.dir, "livepatchd.json")
        with open(daemon_config, "w") as f:
            f.write("{}\n")
        self.fixture.start()
        self._spawn("livepatchd", [
            os.path.join(self.bin_dir, "livepatchd"), "--config", daemon_config, "--host-root", self.fixture.root,
            "--socket", self.api_socket, "--state-dir", self.state_dir, f"DBus:Address={self.bus_address}",
            "Watch:IdleInterval=00:00:00.100", "Watch:TransitionInterval=00:00:00.050",
            "Transitions:StallAfter=00:00:02", "Transitions:ResolveAfter=00:30:00", "Transitions:OnStall=None",
            "Apply:AtStartup=false", f"Verification:TrustedCertificatesDir={trusted}",
        ])
        wait_for(lambda: subprocess.run(
            ["busctl", f"--address={self.bus_address}", "status", "org.livepatchd.Agent1"],
            capture_output=True).returncode == 0, timeout=30, what="livepatchd on the private bus")

        # Cockpit finds the page in $XDG_DATA_DIRS/cockpit/livepatch; lpctl finds the daemon through LPCTL_SOCKET.
        share = os.path.join(self.dir, "share")
        os.makedirs(os.path.join(share, "cockpit"))
        os.symlink(self.dist_dir, os.path.join(share, "cockpit", "livepatch"))
        os.chmod(self.fixture.root, 0o755)
        self.admin_url = self._cockpit("cockpit-root", None, share)
        self.user_url = self._cockpit("cockpit-nobody", "nobody", share)

    def _cockpit(self, name, user, share):
        port = free_port()
        home = os.path.join(self.dir, name + "-home")
        os.makedirs(home)
        if user:
            shutil.chown(home, user)
        env = {
            "PATH": f"{self.bin_dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": home,
            "USER": user or "root",
            "LANG": "C.UTF-8",
            "XDG_DATA_DIRS": f"{share}:/usr/share",
            "XDG_RUNTIME_DIR": home,
            "DBUS_SYSTEM_BUS_ADDRESS": self.bus_address,
            "LPCTL_SOCKET": self.api_socket,
        }
        self._spawn(name, [COCKPIT_WS, "--no-tls", "--local-session=cockpit-bridge", "--address", "127.0.0.1",
                           "--port", str(port)], env=env, user=user)

        def up():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return True
            except OSError:
                return False
        wait_for(up, what=f"{name} on port {port}")
        return f"http://127.0.0.1:{port}/livepatch"

    def lpctl(self, *args):
        env = dict(os.environ, LPCTL_SOCKET=self.api_socket)
        return subprocess.run([os.path.join(self.bin_dir, "lpctl"), *args], capture_output=True, text=True, env=env)

    def write_pin(self, module):
        """Records module as pinned by a force in this boot, as livepatchd does (read when it starts)."""
        with open(os.path.join(self.state_dir, "pins.json"), "w") as f:
            f.write(f'[{{"module": "{module}", "bootId": "{BOOT_ID}", "forcedAt": "2026-11-28T12:00:00+00:00", '
                    f'"forcedPatch": "{module}", "caller": "uid 0", "reason": "patching transition", "blockingSummary": ""}}]\n')

    def stop(self):
        for process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, 15)
                except ProcessLookupError:
                    pass
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
        self.fixture.stop()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def dump_logs(self):
        for name, path in self.logs:
            with open(path, errors="replace") as f:
                text = f.read()
            print(f"--- {name} ({path})\n{text[-4000:]}")


def browser(profile_dir):
    """Headless Chromium through Debian's chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1400", f"--user-data-dir={profile_dir}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
