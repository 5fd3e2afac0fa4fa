# SPDX-License-Identifier: MIT — crmpubsub
"""pytest fixtures of the feed application's suite: a real daemon on a
private socket, the app in-process against it, and the counts for
tests/suite.sh."""

import shutil
import tempfile

import pytest

import feedtest
from feedtest import pytest_terminal_summary  # noqa: F401 (a pytest hook)

import crmtest


def _daemon():
    """crmpubsubd on a private socket; it must exit cleanly at teardown."""
    d = crmtest.Daemon().start()
    yield d
    try:
        rc = d.stop()
        assert rc in (None, 0), f"crmpubsubd exited with {rc}:\n{d.log()}"
    finally:
        d.cleanup()


daemon = pytest.fixture(_daemon)
module_daemon = pytest.fixture(_daemon, scope="module")


@pytest.fixture(scope="module")
def module_app(module_daemon):
    """One app for a module's tests that need no fresh state."""
    path = tempfile.mkdtemp(prefix="feed-web-test.")
    a = feedtest.InProcessApp(f"{path}/feed.sqlite", module_daemon.sock)
    yield a
    a.close()
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def tmpdir_path():
    path = tempfile.mkdtemp(prefix="feed-web-test.")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def app_factory(daemon, tmpdir_path):
    """make(**hub_options) runs the app in-process on the daemon's socket
    (socket_path=... overrides it); closed at teardown."""
    made = []

    def make(socket_path=None, **options):
        a = feedtest.InProcessApp(f"{tmpdir_path}/feed{len(made)}.sqlite",
                                  socket_path or daemon.sock, **options)
        made.append(a)
        return a
    yield make
    for a in made:
        a.close()


@pytest.fixture
def app(app_factory):
    return app_factory()
