"""Shared fixtures: the real MNIST files when present (tests never use the network)."""

from __future__ import annotations

import pytest

from tests.availability import mnist_dir as find_mnist_dir
from tests.availability import real_mnist


@pytest.fixture(scope="session")
def mnist_dir():
    """The folder holding the real MNIST files (``$MNIST_DIR`` first); skipped when absent."""
    return find_mnist_dir()


@pytest.fixture(scope="session")
def mnist():
    """The verified MNIST arrays; skipped when absent (failed with REQUIRE_MNIST=1)."""
    return real_mnist()
