"""The IDX reader: good files, truncation, wrong magic numbers, hash mismatches."""

from __future__ import annotations

import gzip
import hashlib
import struct

import numpy as np
import pytest

from model import mnist
from model.mnist import MnistError, load_mnist, parse_idx, read_idx


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX: two zero bytes, type 0x08, ndim, big-endian dims, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("compress", [False, True])
def test_reads_plain_and_gzipped_idx(tmp_path, images, compress):
    data = idx_bytes(images)
    path = tmp_path / ("x.gz" if compress else "x")
    path.write_bytes(gzip.compress(data) if compress else data)
    out = read_idx(path, hashlib.sha256(data).hexdigest())
    np.testing.assert_array_equal(out, images)
    assert out.dtype == np.uint8


def test_other_idx_types_decode_big_endian():
    values = np.array([1, -2, 300], dtype=">i4")
    data = bytes([0, 0, 0x0C, 1]) + struct.pack(">I", 3) + values.tobytes()
    np.testing.assert_array_equal(parse_idx(data), [1, -2, 300])


def test_truncated_file(tmp_path, images):
    path = tmp_path / "t"
    path.write_bytes(idx_bytes(images)[:-10])
    with pytest.raises(MnistError, match="truncated"):
        read_idx(path)
    with pytest.raises(MnistError, match="truncated IDX header"):
        parse_idx(bytes([0, 0, 8, 3, 0, 0]))


def test_truncated_gzip(tmp_path, images):
    path = tmp_path / "t.gz"
    path.write_bytes(gzip.compress(idx_bytes(images))[:-20])
    with pytest.raises(MnistError, match="gzip"):
        read_idx(path)


@pytest.mark.parametrize("magic", [b"\x00\x00\x07\x03", b"\x01\x00\x08\x03", b"PK\x03\x04", b""])
def test_wrong_magic_number(tmp_path, images, magic):
    path = tmp_path / "m"
    path.write_bytes(magic + idx_bytes(images)[4:] if magic else b"")
    with pytest.raises(MnistError, match="magic"):
        read_idx(path)


def test_hash_mismatch(tmp_path, images):
    path = tmp_path / "h"
    path.write_bytes(idx_bytes(images))
    with pytest.raises(MnistError, match="SHA-256"):
        read_idx(path, "0" * 64)


def test_missing_files_without_download_say_so(tmp_path):
    with pytest.raises(MnistError, match="not found"):
        load_mnist(tmp_path, download_missing=False)


def test_download_tries_mirrors_in_turn_and_verifies(tmp_path, monkeypatch, images):
    """The downloader falls through a failing mirror and a corrupt one, with no network."""
    good = idx_bytes(images)
    stem = "t10k-labels-idx1-ubyte"
    monkeypatch.setitem(mnist.SHA256, stem, hashlib.sha256(good).hexdigest())
    served = {
        "https://a/": OSError("connection refused"),
        "https://b/": gzip.compress(b"not the right file"),
        "https://c/": gzip.compress(good),
    }
    asked = []

    class Response:
        def __init__(self, body):
            self.body = body

        def read(self):
            return self.body

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def fake_urlopen(url, timeout):
        asked.append(url)
        body = served[url.removesuffix(f"{stem}.gz")]
        if isinstance(body, Exception):
            raise body
        return Response(body)

    monkeypatch.setattr(mnist.urllib.request, "urlopen", fake_urlopen)
    path = mnist.download(stem, tmp_path, mirrors=tuple(served))
    assert [u.split("/")[2] for u in asked] == ["a", "b", "c"]
    np.testing.assert_array_equal(read_idx(path, mnist.SHA256[stem]), images)
    served["https://c/"] = OSError("gone")
    with pytest.raises(MnistError, match="could not download"):
        mnist.download(stem, tmp_path / "again", mirrors=tuple(served))


def test_real_mnist_verifies(mnist):
    assert mnist.train_images.shape == (60000, 28, 28)
    assert mnist.test_images.shape == (10000, 28, 28)
    assert set(np.unique(mnist.test_labels)) == set(range(10))
