# SPDX-License-Identifier: MIT — crmpubsub
"""The browser suite's fixtures: a daemon on a private socket, the feed
application as a program on a free port, and one headless chromium
(Debian's, through chromedriver) whose windows are the people looking at
contact pages.

The scenario's steps are tests of one module run in order, sharing that
state; once a step fails the later ones are skipped (they would only
fail for the same reason), and the suite is red."""

import sys
import tempfile
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "client/examples/feed-web/tests"))

import feedtest  # noqa: E402
from feedtest import pytest_terminal_summary  # noqa: E402,F401 (a hook)

import crmtest  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SHOTS = REPO / "build/browser"	# screenshots of each run

# Headless, and nothing that reaches for the network on its own: no
# updates, sync, QUIC probes or first-run pages. Windows in the
# background are not throttled (three people, three windows).
CHROMIUM_ARGS = [
    "--headless=new", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-default-apps", "--disable-extensions",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding", "--window-size=1200,900",
]


def pytest_runtest_makereport(item, call):
    """Remembers the first failed step of a module."""
    if call.excinfo is not None and call.when == "call":
        item.module.__dict__.setdefault("_failed_step", item.name)


def pytest_runtest_setup(item):
    """Skips the steps after a failed one."""
    failed = item.module.__dict__.get("_failed_step")
    if failed is not None:
        pytest.skip(f"an earlier step failed: {failed}")


@pytest.fixture(scope="module")
def workdir():
    path = tempfile.mkdtemp(prefix="feed-web-browser.")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def daemon():
    d = crmtest.Daemon().start()
    yield d
    d.cleanup()


@pytest.fixture(scope="module")
def app(daemon, workdir):
    a = feedtest.AppProcess(f"{workdir}/feed.sqlite", daemon.sock,
                            "--heartbeat", "2")
    yield a
    assert a.stop() == 0, a.describe()


@pytest.fixture(scope="module")
def browser(workdir):
    """One chromium; windows are opened by the tests."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    import os

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in CHROMIUM_ARGS + [f"--user-data-dir={workdir}/chromium"]:
        options.add_argument(arg)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")	# chromium refuses root else
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(10)
    yield driver
    driver.quit()
