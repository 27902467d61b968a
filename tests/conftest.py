"""Shared fixtures (the real MNIST files when present, tests never use the network; one
PostgreSQL server for the session) and the time limit of each kind of test."""

from __future__ import annotations

import pytest

from tests.availability import mnist_dir as find_mnist_dir
from tests.availability import real_mnist
from tests.servers import postgres

#: Seconds a test may take, by marker (others: pyproject's ``timeout``). A browser test takes
#: a few seconds; a slow one trains or evaluates on real MNIST.
TIMEOUTS_BY_MARKER = {"slow": 600, "browser": 60}


def pytest_collection_modifyitems(items):
    """Give marked tests their time limit, unless they carry an explicit ``timeout`` mark."""
    for item in items:
        if item.get_closest_marker("timeout"):
            continue
        for marker, seconds in TIMEOUTS_BY_MARKER.items():
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.timeout(seconds))
                break


@pytest.fixture(scope="session")
def mnist_dir():
    """The folder holding the real MNIST files (``$MNIST_DIR`` first); skipped when absent."""
    return find_mnist_dir()


@pytest.fixture(scope="session")
def mnist():
    """The verified MNIST arrays; skipped when absent (failed with REQUIRE_MNIST=1)."""
    return real_mnist()


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL server for the whole session (tests/servers.py); each test makes its own
    database on it (servers.create_database). Skipped where PostgreSQL is not installed."""
    with postgres() as url:
        yield url


# The browser tests' fixtures (tests/browser_env.py), for every tests/test_browser_*.py.
from tests.browser_env import app_server, base_url, browser, page, touch_page  # noqa: E402, F401
