"""The dashboard in a real headless Chromium, during a real local rollout (Prometheus, Envoy, MLServer, the controller).

Screenshots go to ML_CANARY_ARTIFACTS (``make test`` keeps them in test-artifacts/, ``make
screenshots`` in docs/images/), else to the test's temporary folder.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

from bench.designs import variant
from canary.dashboard.browser import chromium, phase, run, text
from canary.dashboard.sessions import COOKIE_PREFIX
from canary.local.client import StackClient
from canary.local.harness import Harness
from servers.admin import FAULTS_PATH
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.rollout]
SCALE = 4  # each 3-minute analysis in 45 s: time to look, click and check


@pytest.fixture
def live(stack_env, tmp_path):
    """Stack, controller and 50 rps with feedback on half the answers; the Rollout without its shadow phase."""
    k8s = variant(tmp_path / "k8s", shadow=False)
    harness = Harness(tmp_path / "run", {**stack_env, "CANARY_K8S_DIR": str(k8s)}, user="e2e")
    try:
        harness.start_stack()
        harness.client = harness.start_controller(SCALE)
        harness.start_loadgen(50, None, "--feedback-ratio", "0.5", "--duration", "600s")
        harness.wait_traffic()
        yield harness
    finally:
        harness.stop()


@pytest.fixture
def browser():
    try:
        driver = chromium()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield driver
    driver.quit()


def shots_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("ML_CANARY_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def click_game_day(driver, element_id: str) -> None:
    """Click a button of the game-day rows, which redraw whenever a runtime's state changes: one found a moment
    before the click may have been replaced, so find it again until a click lands."""
    def clicked() -> bool:
        try:
            driver.find_element(By.ID, element_id).click()
        except StaleElementReferenceException:
            return False
        return True

    wait_until(clicked, 10, f"{element_id} to take a click")


def fetch_status(driver, path: str, headers: dict) -> int:
    """What a script on the page gets when it POSTs to ``path`` itself (with the page's cookies)."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"fetch({json.dumps(path)}, {{method: 'POST', credentials: 'same-origin', headers: {json.dumps(headers)}}})"
        ".then((r) => done(r.status), (e) => done(String(e)));")


def series_drawn(driver, chart: str, points: int = 5) -> set[str]:
    """The series a chart draws with at least ``points`` points (its ``data-series`` is "name:count,...")."""
    series = run(driver, f"return document.getElementById('{chart}').dataset.series || ''")
    drawn = (s.rsplit(":", 1) for s in series.split(",") if s)
    return {name for name, count in drawn if int(count) >= points}


def versions_drawn(driver, chart: str, points: int = 5) -> set[str]:
    """The versions a chart of the runtimes draws (its series are named "version revision")."""
    return {name.split()[-2] for name in series_drawn(driver, chart, points)}


def log_in(driver, token: str, user: str) -> None:
    driver.find_element(By.ID, "login-user").clear()
    driver.find_element(By.ID, "login-user").send_keys(user)
    driver.find_element(By.ID, "login-token").send_keys(token)
    driver.find_element(By.ID, "login").click()
    wait_until(lambda: text(driver, "#who") == f"logged in as {user}", 10, "the page to say who is logged in")


def test_a_person_watches_steers_and_aborts_a_rollout_in_the_browser(live, browser, tmp_path):
    state = json.loads((live.run_dir / "controller.json").read_text())
    browser.get(state["api"] + "/")
    wait_until(lambda: phase(browser) == "Healthy", 15, "the page to draw the rollout")

    # Read-only without login: controls drawn disabled with the reason, and refused if sent anyway.
    abort = browser.find_element(By.ID, "control-abort")
    assert not abort.is_enabled() and abort.get_attribute("title") == "log in first"
    assert fetch_status(browser, "/abort", {}) == 401

    log_in(browser, state["token"], "tester")
    session, = (c for c in browser.get_cookies() if c["name"].startswith(COOKIE_PREFIX))
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert COOKIE_PREFIX not in run(browser, "return document.cookie") and state["token"] not in browser.current_url
    assert fetch_status(browser, "/pause", {}) == 403  # the cookie alone, without the CSRF token, changes nothing

    # Roll out v2 from the page; the current step is marked and the charts draw both versions.
    wait_until(lambda: browser.find_element(By.ID, "control-rollout").is_enabled(), 10, "Roll out to be enabled")
    browser.find_element(By.ID, "control-rollout").click()
    wait_until(lambda: text(browser, "#steps li.current").startswith("analysis"), 60, "the first analysis step, marked")
    doc = live.client.get()  # one read: the analysis step holds for 45 s, the page redraws every second
    assert text(browser, "#steps li[aria-current=step]") == doc["plan"][doc["step"]]
    for chart in ("chart-rps", "chart-success", "chart-latency"):
        wait_until(lambda: {"v1", "v2"} <= versions_drawn(browser, chart), 60, f"{chart} to show both versions")
    assert "canary v2 10%" in text(browser, "#weights-text")
    own = {"canary weight", "step", "reconcile p99 ms", "reconcile errors", "drift repairs"}
    wait_until(lambda: own <= series_drawn(browser, "chart-controller", 2), 60, "the controller's own series charted")
    wait_until(lambda: "judge" in text(browser, "#metrics"), 30, "the analysis table")
    assert "result[0] >= 0.95" in text(browser, "#metrics")  # each metric with its conditions
    browser.save_screenshot(str(shots_dir(tmp_path) / "dashboard-progress.png"))

    # Game day: a fault toggle on the page reaches v2's runtime, and Clear takes it back.
    admin = next(p["admin_url"] for p in StackClient(live.run_dir).status()["processes"] if p["version"] == "v2")
    browser.find_element(By.ID, "fault-v2-latency_ms").send_keys("1")
    browser.find_element(By.ID, "fault-v2-apply").click()  # focus is in the rows: they do not redraw
    wait_until(lambda: httpx.get(f"{admin}{FAULTS_PATH}").json()["latency_ms"] == 1, 10, "v2's runtime to get the fault")
    wait_until(lambda: "latency_ms 1" in text(browser, "#gameday"), 10, "the page to show v2's fault")
    click_game_day(browser, "fault-v2-clear")
    wait_until(lambda: httpx.get(f"{admin}{FAULTS_PATH}").json()["latency_ms"] == 0, 10, "v2's fault to clear")

    # Abort: the controller, its audit log and the page all say so, with the user.
    wait_until(lambda: browser.find_element(By.ID, "control-abort").is_enabled(), 10, "Abort to be enabled")
    browser.find_element(By.ID, "control-abort").click()
    doc = wait_until(lambda: d if (d := live.client.get())["phase"] == "Degraded" else None, 15, "the controller to abort")
    assert doc["message"] == "RolloutAborted: aborted by request" and doc["weight"] == 0
    entry = [a for a in live.client.audit() if a["action"] == "abort"][-1]
    assert entry["who"] == "tester" and entry["after"]["phase"] == "Degraded"
    wait_until(lambda: phase(browser) == "Degraded", 5, "the page to show the abort")
    wait_until(lambda: "tester: abort" in text(browser, "#audit"), 5, "the page's audit log to show the abort")
    assert "aborted" in text(browser, "#history")
    assert "RolloutAborted" in text(browser, "#message") and "failed" in browser.find_element(
        By.CSS_SELECTOR, "#steps li.current").get_attribute("class")
    wait_until(lambda: browser.find_element(By.ID, "control-retry").is_enabled(), 5, "Retry to be enabled")
    browser.save_screenshot(str(shots_dir(tmp_path) / "dashboard-aborted.png"))

    # 'canary dashboard --login-url': a one-time link that logs a browser in and leaves the address bar clean.
    browser.find_element(By.ID, "logout").click()
    wait_until(lambda: not browser.find_element(By.ID, "control-retry").is_enabled(), 5, "logging out to disable Retry")
    cli = subprocess.run([sys.executable, "-m", "canary", "dashboard", "--login-url"], env={**live.env, "CANARY_USER": "ops"},
                         capture_output=True, text=True, timeout=30)
    link = cli.stdout.strip()
    assert cli.returncode == 0 and "/login?code=" in link and state["token"] not in link, cli.stderr
    browser.get(link)
    wait_until(lambda: text(browser, "#who") == "logged in as ops", 10, "the link to log the browser in")
    assert browser.current_url == state["api"] + "/"
    browser.get(link)  # spent
    assert "spent or expired" in browser.page_source
