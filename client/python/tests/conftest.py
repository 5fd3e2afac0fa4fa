# SPDX-License-Identifier: MIT — crmpubsub
"""pytest fixtures: the package from this tree, real daemons on private
sockets (stopped and checked for a clean exit after each test) and clients
closed after each test."""

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))	# the package, from the tree
sys.path.insert(0, str(HERE))		# crmtest

import crmpubsub  # noqa: E402
import crmtest  # noqa: E402


def need(condition: bool, why: str) -> None:
    """Skips the test when condition is false on a developer's box; fails
    it under CI (CI=true), where every tool is installed."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"missing under CI: {why}")
    pytest.skip(why)


@pytest.fixture
def daemon_factory():
    """make(*args) starts a daemon with those options; each must exit with
    status 0 at teardown (no crash)."""
    started = []

    def make(*args):
        d = crmtest.Daemon(*args)
        started.append(d)
        return d.start()
    yield make
    bad = []
    for d in started:
        try:
            rc = d.stop()
            if rc not in (None, 0):
                bad.append(f"crmpubsubd exited with {rc}:\n{d.log()}")
        finally:
            d.cleanup()
    assert not bad, "\n".join(bad)


@pytest.fixture
def daemon(daemon_factory):
    """One daemon with default options."""
    return daemon_factory()


@pytest.fixture
def clients():
    """make(*args, **kw) makes a crmpubsub.Client, closed at teardown."""
    made = []

    def make(*args, **kwargs):
        c = crmpubsub.Client(*args, **kwargs)
        made.append(c)
        return c
    yield make
    for c in made:
        c.close()

