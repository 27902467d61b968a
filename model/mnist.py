"""MNIST: read IDX files (gzipped or not), verify their SHA-256, fetch them when missing.

The hashes are of the *decompressed* files, so a re-gzipped copy still verifies.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.params_io import atomic_write_bytes

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)
#: IDX type codes -> big-endian NumPy dtypes.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_PROJECT_ROOT = Path(__file__).resolve().parent.parent


class MnistError(ValueError):
    """An MNIST file is missing, truncated, corrupt or not what it claims to be."""


@dataclass
class Mnist:
    """The dataset: images (N, 28, 28) uint8, labels (N,) uint8."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode decompressed IDX bytes into an array of the shape the header gives."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise MnistError(f"{source}: wrong magic number {data[:4].hex() or '(empty)'}: not IDX")
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise MnistError(f"{source}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        kind = "truncated" if len(data) < expected else "has trailing bytes"
        raise MnistError(f"{source}: {kind}: {len(data)} bytes, header promises {expected}")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_raw(path: str | os.PathLike) -> bytes:
    """File bytes, gunzipped when the file is gzip (by its magic, not its name)."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise MnistError(f"{path}: corrupt or truncated gzip data: {exc}") from exc
    return raw


def read_idx(path: str | os.PathLike, sha256: str | None = None) -> np.ndarray:
    """Read one IDX file (gzipped or not); check the decompressed SHA-256 when given."""
    data = read_raw(path)
    if sha256 is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise MnistError(f"{path}: SHA-256 {actual} does not match the expected {sha256}")
    return parse_idx(data, str(path))


def find_file(data_dir: Path, stem: str) -> Path | None:
    for candidate in (data_dir / f"{stem}.gz", data_dir / stem):
        if candidate.is_file():
            return candidate
    return None


def download(stem: str, data_dir: Path, mirrors: tuple[str, ...] = MIRRORS) -> Path:
    """Fetch ``<stem>.gz`` from the first mirror whose file verifies; write it atomically."""
    errors = []
    for mirror in mirrors:
        url = f"{mirror}{stem}.gz"
        try:
            with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (https list)
                blob = response.read()
            if hashlib.sha256(gzip.decompress(blob)).hexdigest() != SHA256[stem]:
                raise MnistError("SHA-256 mismatch")
        except (OSError, EOFError, MnistError) as exc:
            errors.append(f"{url}: {exc}")
            continue
        target = data_dir / f"{stem}.gz"
        atomic_write_bytes(target, blob)
        return target
    raise MnistError(f"could not download {stem}:\n  " + "\n  ".join(errors))


def default_data_dir() -> Path:
    """$MNIST_DIR, else ./data/mnist, else ../shared/data/mnist when that holds the files."""
    if os.environ.get("MNIST_DIR"):
        return Path(os.environ["MNIST_DIR"])
    local = _PROJECT_ROOT / "data" / "mnist"
    shared = _PROJECT_ROOT.parent / "shared" / "data" / "mnist"
    if not (local / f"{FILES['train_images']}.gz").exists() and shared.is_dir():
        return shared
    return local


def load_mnist(data_dir: str | os.PathLike | None = None, download_missing: bool = True) -> Mnist:
    """Load and verify all four files from ``data_dir``, downloading any that are missing."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    arrays = {}
    for key, stem in FILES.items():
        path = find_file(data_dir, stem)
        if path is None:
            if not download_missing:
                raise MnistError(f"{stem}(.gz) not found in {data_dir}")
            path = download(stem, data_dir)
        arrays[key] = read_idx(path, SHA256[stem])
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise MnistError(f"{split}: images {images.shape} and labels {labels.shape} disagree")
    return Mnist(**arrays)
