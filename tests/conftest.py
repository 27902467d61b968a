"""Shared fixtures: the real MNIST files when present (tests never use the network)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_MNIST = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def mnist():
    """The verified MNIST arrays from ../shared/data/mnist; skipped when that is absent."""
    from model.mnist import load_mnist

    if not (SHARED_MNIST / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"real MNIST not found at {SHARED_MNIST}: this test needs it")
    return load_mnist(SHARED_MNIST, download_missing=False)
