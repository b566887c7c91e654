#!/usr/bin/python3
"""Browser tests of the Cockpit page (docs/web-console.md): real cockpit-ws and cockpit-bridge, headless Chromium,
the published livepatchd on a fixture tree, all on a private system bus. Prints "N passed, N failed".

    /usr/bin/python3 tests/cockpit/test_console.py --bin artifacts/bin --dist cockpit/dist --screenshots DIR [TEST...]
"""

import argparse
import os
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Stack, browser, wait_for  # noqa: E402

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

# Generous bounds that fail a broken page, not a slow one: the page must follow the bus without a reload.
LIVE = 8
FRAME = "cockpit1:localhost/livepatch"

SLEEPER = ("lpdemo_sleeper", "lpdemo_sleeper_wait")
SLEEPER_STACK = ["[<0>] lpdemo_sleeper_wait+0x72/0xf0 [lpdemo_sleeper]", "[<0>] do_syscall_64+0x5b/0xc0"]


class Page:
    """One browser on the Cockpit shell, working inside the page's iframe."""

    def __init__(self, url, screenshots, profile):
        self.driver = browser(profile)
        self.screenshots = screenshots
        self.driver.get(url)
        wait_for(lambda: self._enter(), timeout=30, what="the livepatch iframe")
        self.wait_css("#overview")

    def _enter(self):
        self.driver.switch_to.default_content()
        try:
            frame = self.driver.find_element(By.CSS_SELECTOR, f'iframe[name="{FRAME}"]')
        except NoSuchElementException:
            return False
        self.driver.switch_to.frame(frame)
        return True

    def find(self, css):
        found = self.driver.find_elements(By.CSS_SELECTOR, css)
        return found[0] if found else None

    def text(self, css):
        try:
            element = self.find(css)
            return element.text if element else None
        except StaleElementReferenceException:
            return None

    def wait_css(self, css, timeout=LIVE):
        return wait_for(lambda: self.find(css), timeout=timeout, what=css)

    def wait_text(self, css, needle, timeout=LIVE):
        return wait_for(lambda: needle in (self.text(css) or ""), timeout=timeout, what=f"{needle!r} in {css} (now {self.text(css)!r})")

    def wait_gone(self, css, timeout=LIVE):
        return wait_for(lambda: self.find(css) is None, timeout=timeout, what=f"{css} to go away")

    def row(self, patch):
        return f'tr[data-patch="{patch}"]'

    def click(self, css):
        self.wait_css(css).click()

    def dismiss(self):
        """Closes the outcome of an earlier action, if one is shown."""
        button = self.find("#outcome button")
        if button:
            button.click()
            self.wait_gone("#outcome")

    def mark(self):
        """Puts a marker in the page's window: it survives until the page reloads."""
        self.driver.execute_script("window.lpTestMarker = 'no-reload'")

    def still_marked(self):
        return self.driver.execute_script("return window.lpTestMarker") == "no-reload"

    def shot(self, name, show=None):
        """The whole shell, with the page in it, scrolled to the element show when given."""
        if show:
            self.driver.execute_script("document.querySelector(arguments[0]).scrollIntoView({block: 'start'})", show)
        self.driver.switch_to.default_content()
        self.driver.save_screenshot(os.path.join(self.screenshots, name))
        self._enter()

    def quit(self):
        self.driver.quit()


def test_page_loads_with_the_fixture_patches(stack, admin, user):
    admin.wait_css(admin.row("lp_cmdline"))
    admin.wait_css(admin.row("lp_meminfo"))
    assert "enabled" in admin.text(admin.row("lp_cmdline") + " .patch-state")
    assert admin.text("#kernel-release") == "6.1.0-56-amd64"
    assert admin.text("#kernel-lockdown") == "integrity"
    assert admin.text("#kernel-sig") == "enforced"
    assert admin.text("#kernel-taint").startswith("OEK")
    admin.wait_text("#agent-state", "idle")
    assert admin.driver.execute_script("return document.title") == "Kernel live patching"
    assert admin.find("h1").text == "Kernel live patching"
    # The shell names the page after it too.
    admin.driver.switch_to.default_content()
    assert admin.driver.title.startswith("Kernel live patching"), admin.driver.title
    admin._enter()
    admin.shot("web-console-overview.png")


def test_a_transition_starts_stalls_and_ends_live(stack, admin, user):
    admin.mark()
    stack.fixture.add_task(4242, "lpdemo-sleep", 0, SLEEPER_STACK)
    stack.fixture.add_task(4300, "switched", 1, ["[<0>] do_nanosleep+0x1/0x2"])
    stack.fixture.add_patch("lp_sleeper", [SLEEPER], transition=True)

    admin.wait_text("#transition", "Transition of lp_sleeper is running")
    admin.wait_text(admin.row("lp_sleeper") + " .patch-state", "enabling")
    # Stalled after Transitions:StallAfter (2 s): the blocking task, with the patched function it sits in.
    admin.wait_text("#transition", "is stalled", timeout=LIVE + 2)
    admin.wait_text("#transition-blocking", "lpdemo-sleep")
    blocking = admin.text("#transition-blocking")
    assert "4242" in blocking and "lpdemo_sleeper_wait" in blocking, blocking
    admin.wait_text("#transition-progress", "1 of 2 tasks switched")
    admin.wait_text("#agent-state", "stalled")
    admin.shot("web-console-stall.png")

    # The task leaves the function: the transition ends.
    stack.fixture.set_task_state(4242, 1)
    stack.fixture.set_transition("lp_sleeper", False)
    admin.wait_gone("#transition")
    admin.wait_text(admin.row("lp_sleeper") + " .patch-state", "enabled")
    admin.wait_text("#agent-state", "idle")
    assert admin.still_marked(), "the page reloaded"
    stack.fixture.remove_task(4242)
    stack.fixture.remove_task(4300)


def test_revert_of_an_unload_runs_and_its_outcome_shows(stack, admin, user):
    # An unload in progress, held by a task in the patched function; the page's Revert leaves the patch enabled.
    admin.dismiss()
    admin.mark()
    stack.fixture.add_task(4400, "meminfo-reader", 1, ["[<0>] meminfo_proc_show+0x10/0x90", "[<0>] seq_read_iter+0x1/0x2"])
    stack.fixture.start_unpatch("lp_meminfo")
    admin.wait_text("#transition", "Transition of lp_meminfo is running")
    admin.wait_text(admin.row("lp_meminfo") + " .patch-state", "disabling")
    admin.click("#revert")
    admin.wait_text("#outcome", "Revert succeeded", timeout=30)
    assert "enabled again" in admin.text("#outcome-message"), admin.text("#outcome-message")
    admin.wait_gone("#transition")
    admin.wait_text(admin.row("lp_meminfo") + " .patch-state", "enabled")
    admin.wait_text("#history", "revert")
    admin.wait_text("#history", "completed")
    assert admin.still_marked()
    admin.shot("web-console-action.png")
    stack.fixture.remove_task(4400)


def test_a_daemon_error_shows_its_reason(stack, admin, user):
    admin.dismiss()
    admin.wait_text(admin.row("lp_pinned") + " .patch-state", "forced (reboot to unload)")
    admin.click(admin.row("lp_pinned") + " button.unload")
    admin.wait_text("#outcome", "failed", timeout=30)
    admin.wait_text("#outcome-reason", "forced-module-pinned")
    assert "lp_pinned" in admin.text("#outcome-message"), admin.text("#outcome-message")
    admin.wait_css(admin.row("lp_pinned"))
    admin.shot("web-console-error.png")


def test_force_asks_first_and_says_what_it_costs(stack, admin, user):
    admin.dismiss()
    stack.fixture.add_task(4343, "lpdemo-sleep", 0, SLEEPER_STACK)
    stack.fixture.add_patch("lp_stuck", [SLEEPER], transition=True)
    admin.wait_text("#transition", "Transition of lp_stuck is stalled", timeout=LIVE + 2)

    admin.click("#force")
    dialog = admin.wait_css("#force-dialog")
    # The words of docs/operations.md, "What force costs".
    admin.wait_text("#force-dialog", "can never be unloaded until the next reboot")
    assert "Tasks still inside an old function keep running the old code" in dialog.text
    admin.shot("web-console-force.png")
    # Escape closes it without forcing.
    ActionChains(admin.driver).send_keys(Keys.ESCAPE).perform()
    admin.wait_gone("#force-dialog")
    assert stack.fixture.read("sys/kernel/livepatch/lp_stuck/force") == ""

    # Confirmed from the keyboard: the confirm button is the dialog's first action.
    admin.click("#force")
    admin.wait_css("#force-dialog")
    admin.wait_css("#force-confirm").send_keys(Keys.ENTER)
    admin.wait_text("#outcome", "Force", timeout=30)
    # A forced patching transition of a patch that replaces none pins no module; the blocked task is named.
    admin.wait_text("#outcome-message", "forced the patching transition of lp_stuck")
    assert "lpdemo-sleep (pid 4343)" in admin.text("#outcome-message"), admin.text("#outcome-message")
    assert stack.fixture.read("sys/kernel/livepatch/lp_stuck/transition") == "0"
    admin.wait_gone("#transition")
    admin.wait_text(admin.row("lp_stuck") + " .patch-state", "enabled")
    admin.wait_text("#history", "force")
    stack.fixture.remove_task(4343)


def test_verify_shows_every_check_of_an_uploaded_module(stack, admin, user):
    admin.dismiss()
    module = os.path.join(stack.dir, "not_a_patch.ko")
    with open(module, "wb") as f:
        f.write(b"this is not an ELF file\n" * 8)
    admin.wait_css("#upload").send_keys(module)
    admin.wait_css("#verify-checks", timeout=30)
    admin.wait_text("#verify-result", "failed verification")
    checks = admin.driver.find_elements(By.CSS_SELECTOR, "#verify-checks tbody tr")
    assert len(checks) >= 1, "no check shown"
    assert "failed" in admin.text("#verify-checks")
    assert "not an ELF file" in admin.text("#verify-checks")
    assert admin.find("#install-now") is None, "a module that failed verification can be installed"
    admin.shot("web-console-verify.png", show="#install")


def test_a_signed_module_passes_every_check_and_installs(stack, admin, user):
    # lpdemo_v1.signed.ko: built for 6.1.0-56-amd64 (the fixture's release), signed by the trusted test key.
    admin.dismiss()
    admin.wait_css("#upload").send_keys(os.path.join(harness.TEST_DATA, "lpdemo_v1.signed.ko"))
    admin.wait_text("#verify-result", "passed every check", timeout=30)
    text = admin.text("#verify-checks")
    for check in ("elf", "livepatch", "kernel-release", "signature"):
        assert check in text, f"the check {check} is not shown: {text}"
    assert "failed" not in text, text
    admin.shot("web-console-verify-passed.png", show="#install")
    admin.click("#install-only")
    admin.wait_text("#outcome", "Install succeeded", timeout=30)
    admin.wait_text("#history", "install")
    installed = stack.lpctl("-o", "json", "list", "--installed")
    assert "lpdemo_v1" in installed.stdout, installed.stdout + installed.stderr
    assert admin.find("#verify-checks") is None, "the checks of the installed file are still shown"


def test_the_page_works_with_the_keyboard(stack, admin, user):
    # Tab from the top of the page to the details button of lp_cmdline and open it with Enter.
    admin.driver.execute_script("document.activeElement && document.activeElement.blur(); window.focus()")
    label = None
    for _ in range(60):
        ActionChains(admin.driver).send_keys(Keys.TAB).perform()
        label = admin.driver.execute_script("return document.activeElement && document.activeElement.getAttribute('aria-label')")
        if label == "Details of lp_cmdline":
            break
    assert label == "Details of lp_cmdline", f"Tab never reached the details button (last: {label})"
    ActionChains(admin.driver).send_keys(Keys.ENTER).perform()
    admin.wait_text("#patches", "vmlinux:cmdline_proc_show,1")
    # Every button and the file input have a name a screen reader can say.
    unnamed = admin.driver.execute_script("""
        return [...document.querySelectorAll('button, input')].filter(e =>
            !(e.getAttribute('aria-label') || e.textContent.trim() || (e.id && document.querySelector(`label[for="${e.id}"]`))))
            .map(e => e.outerHTML.slice(0, 80));""")
    assert unnamed == [], unnamed


def test_a_user_without_admin_rights_sees_state_and_no_actions(stack, admin, user):
    user.wait_css(user.row("lp_cmdline"))
    user.wait_text("#kernel-lockdown", "integrity")
    user.wait_css("#history-unavailable")
    assert user.find("button.unload") is None
    assert user.find("#apply") is None
    assert user.find("#install") is None
    user.shot("web-console-readonly.png")


TESTS = [
    test_page_loads_with_the_fixture_patches,
    test_a_transition_starts_stalls_and_ends_live,
    test_revert_of_an_unload_runs_and_its_outcome_shows,
    test_a_daemon_error_shows_its_reason,
    test_force_asks_first_and_says_what_it_costs,
    test_verify_shows_every_check_of_an_uploaded_module,
    test_a_signed_module_passes_every_check_and_installs,
    test_the_page_works_with_the_keyboard,
    test_a_user_without_admin_rights_sees_state_and_no_actions,
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--dist", required=True)
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("names", nargs="*")
    options = parser.parse_args()
    os.makedirs(options.screenshots, exist_ok=True)
    selected = [t for t in TESTS if not options.names or any(n in t.__name__ for n in options.names)]

    stack = Stack(options.bin, options.dist, options.screenshots)
    stack.fixture.add_patch("lp_cmdline", [("vmlinux", "cmdline_proc_show")])
    stack.fixture.add_patch("lp_meminfo", [("vmlinux", "meminfo_proc_show")])
    stack.fixture.add_patch("lp_pinned", [("vmlinux", "version_proc_show")])
    passed = failed = 0
    admin = user = None
    try:
        stack.write_pin("lp_pinned")
        stack.start()
        profiles = tempfile.mkdtemp(prefix="lpc-chromium-")
        admin = Page(stack.admin_url, options.screenshots, os.path.join(profiles, "admin"))
        user = Page(stack.user_url, options.screenshots, os.path.join(profiles, "user"))
        for test in selected:
            started = time.monotonic()
            try:
                test(stack, admin, user)
                passed += 1
                print(f"PASS {test.__name__} ({time.monotonic() - started:.1f} s)", flush=True)
            except Exception:
                failed += 1
                print(f"FAIL {test.__name__} ({time.monotonic() - started:.1f} s)", flush=True)
                traceback.print_exc()
                try:
                    admin.shot(f"failed-{test.__name__}.png")
                except Exception:
                    pass
    except Exception:
        failed += 1
        print("FAIL setting up the browser test bed", flush=True)
        traceback.print_exc()
    finally:
        for page in (admin, user):
            if page:
                page.quit()
        stack.stop()
        if failed:
            stack.dump_logs()
        stack.cleanup()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
