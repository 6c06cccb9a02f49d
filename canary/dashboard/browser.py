"""A headless Chromium on the dashboard, for its tests, ``make screenshots`` and ``python -m bench.dashboard``.

Debian's chromium and chromedriver (``make tools`` installs them), driven by Selenium
(the ``test`` extra): given both paths, Selenium downloads nothing.
"""

import json
import shutil
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the test extra: the dashboard itself never needs it
    from selenium.webdriver import Chrome

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ARGS = ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium(width: int = 1600, height: int = 2200) -> "Chrome":
    """A headless browser (quit() it); RuntimeError naming the package when a binary is missing."""
    from selenium import webdriver  # the test extra: the dashboard itself never needs it
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    for path, package in ((CHROMIUM, "chromium"), (DRIVER, "chromium-driver")):
        if not shutil.which(path):
            raise RuntimeError(f"{path} is missing: install Debian's {package} ('make tools' does)")
    options = Options()
    options.binary_location = CHROMIUM
    for arg in (*ARGS, f"--window-size={width},{height}"):
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service(DRIVER))


def run(driver: "Chrome", script: str) -> Any:
    """Run ``script`` in the page; its return value."""
    return driver.execute_script(script)


def text(driver: "Chrome", selector: str) -> str:
    """The text of the first element matching ``selector``; '' when there is none."""
    return str(run(driver, f"const n = document.querySelector({json.dumps(selector)}); return n ? n.textContent : '';"))


def phase(driver: "Chrome") -> str:
    """The phase the page shows (it sets ``body[data-phase]`` after each redraw)."""
    return str(run(driver, "return document.body.dataset.phase || ''"))
