"""Tests that need MNIST or a browser skip with a clear message on a laptop, and fail in CI."""

from __future__ import annotations

import pytest

from model.mnist import default_data_dir
from tests.availability import REQUIRE_MNIST, mnist_dir, unavailable


def test_mnist_dir_honours_mnist_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    monkeypatch.delenv(REQUIRE_MNIST, raising=False)
    assert default_data_dir() == tmp_path
    with pytest.raises(pytest.skip.Exception, match=rf"not found in {tmp_path}.*MNIST_DIR"):
        mnist_dir()


def test_missing_mnist_fails_when_required(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    monkeypatch.setenv(REQUIRE_MNIST, "1")
    with pytest.raises(pytest.fail.Exception, match="REQUIRE_MNIST is set but real MNIST"):
        mnist_dir()


def test_a_partial_copy_counts_as_missing(monkeypatch, tmp_path):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    monkeypatch.delenv(REQUIRE_MNIST, raising=False)
    with pytest.raises(pytest.skip.Exception, match="t10k-labels-idx1-ubyte"):
        mnist_dir()


@pytest.mark.parametrize(("value", "outcome"), [("", pytest.skip), ("0", pytest.skip),
                                                 ("1", pytest.fail)])
def test_the_switch(monkeypatch, value, outcome):
    monkeypatch.setenv("REQUIRE_SOMETHING", value)
    with pytest.raises(outcome.Exception, match="no widget"):
        unavailable("no widget", "REQUIRE_SOMETHING")
