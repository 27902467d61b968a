"""What some tests need from the machine (real MNIST files, a browser, PostgreSQL, nginx, wrk),
and what happens when it is missing: the test is skipped with a message saying what to
install or set, or, where the matching ``REQUIRE_*`` switch is set (CI sets them all), it
fails instead.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import NoReturn

import pytest

from model.mnist import FILES, Mnist, default_data_dir, find_file, load_mnist

#: Set to 1 to fail, not skip, the tests that need these (``.ci/run`` sets both).
REQUIRE_MNIST = "REQUIRE_MNIST"
REQUIRE_BROWSER = "REQUIRE_BROWSER"
REQUIRE_SERVERS = "REQUIRE_SERVERS"  # PostgreSQL, nginx and wrk (tests/servers.py)


def required(switch: str) -> bool:
    return os.environ.get(switch, "") not in ("", "0")


def unavailable(reason: str, switch: str) -> NoReturn:
    """Skip the calling test because of ``reason``, or fail it when ``switch`` is set."""
    if required(switch):
        pytest.fail(f"{switch} is set but {reason}", pytrace=False)
    pytest.skip(reason)


def mnist_dir() -> Path:
    """The folder holding the four real MNIST files, found as the trainer finds it
    (:func:`model.mnist.default_data_dir`: ``$MNIST_DIR``, ``./data/mnist``,
    ``../shared/data/mnist``); skips or fails the test when a file is missing."""
    folder = default_data_dir()
    missing = [stem for stem in FILES.values() if find_file(folder, stem) is None]
    if missing:
        unavailable(
            f"real MNIST not found in {folder} (missing {', '.join(missing)}): set MNIST_DIR "
            "to the folder holding the four IDX files (tests never download)",
            REQUIRE_MNIST,
        )
    return folder


@functools.cache
def _load(folder: Path) -> Mnist:
    return load_mnist(folder, download_missing=False)


def real_mnist() -> Mnist:
    """The verified MNIST arrays (loaded once per folder and session), or skip/fail."""
    return _load(mnist_dir())
