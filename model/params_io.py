"""Parameter files: a pickle of plain containers and NumPy arrays, loaded safely.

The file holds one dict::

    {"format": "numpy-cnn-params", "format_version": 1, "name": str,
     "input_shape": [1, 28, 28], "arch": [layer spec dicts],
     "normalization": {"mean": float, "std": float},
     "params": {"<i>.<name>": ndarray}, "buffers": {...}, "meta": {plain values},
     "calibration": {"temperature": float, ...}}   # optional: files without it load at T = 1

Loading goes through :class:`RestrictedUnpickler`, which resolves only the few NumPy
callables an ndarray pickle needs; any other global (``os.system``, ``builtins.eval``, a
class with ``__reduce__``...) is refused before anything runs. Copyreg extension codes
(EXT1/2/4) are refused before unpickling starts: the unpickler resolves a code it has seen
before from a process-wide cache, without asking ``find_class``.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import pickletools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from model.network import Sequential

FORMAT = "numpy-cnn-params"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 256 * 1024 * 1024

#: The only globals a parameter pickle may name: what NumPy needs to rebuild arrays.
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
}
#: Opcodes that name a global through the copyreg extension registry (and its cache).
_EXTENSION_OPCODES = frozenset({"EXT1", "EXT2", "EXT4"})


class ParamsError(ValueError):
    """The file is not a usable parameter file (unsafe, malformed, or does not fit)."""


class UnsafePickleError(ParamsError):
    """The pickle names something other than plain containers and NumPy arrays."""


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only :data:`_ALLOWED_GLOBALS`; everything else is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise UnsafePickleError(
            f"refused to load {module}.{name}: a parameter file may only hold plain "
            "containers and NumPy arrays"
        )

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("refused a persistent reference in a parameter file")


def safe_loads(data: bytes) -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler` and check every leaf is plain."""
    try:
        _refuse_extension_codes(data)
        obj = RestrictedUnpickler(io.BytesIO(data)).load()
    except UnsafePickleError:
        raise
    except Exception as exc:  # truncated or corrupt pickles raise many kinds of errors
        raise ParamsError(f"not a readable parameter file: {type(exc).__name__}: {exc}") from exc
    _check_plain(obj)
    return obj


def _refuse_extension_codes(data: bytes) -> None:
    """Scan the opcodes (no object is built) and refuse copyreg extension references."""
    for opcode, arg, _position in pickletools.genops(data):
        if opcode.name in _EXTENSION_OPCODES:
            raise UnsafePickleError(
                f"refused copyreg extension code {arg}: a parameter file names no globals "
                "that way"
            )


def _check_plain(obj: Any, depth: int = 0) -> None:
    if depth > 32:
        raise ParamsError("parameter file nests too deeply")
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise UnsafePickleError(f"arrays must be numeric, not dtype {obj.dtype}")
    elif isinstance(obj, dict):
        for key, value in obj.items():
            _check_plain(key, depth + 1)
            _check_plain(value, depth + 1)
    elif isinstance(obj, list | tuple):
        for value in obj:
            _check_plain(value, depth + 1)
    elif not isinstance(obj, str | int | float | bool | bytes | type(None) | np.generic):
        raise UnsafePickleError(f"unexpected object of type {type(obj).__name__}")


@dataclass
class LoadedParams:
    """A network rebuilt from a parameter file, with what the file says about it."""

    network: Sequential
    name: str
    normalization: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""
    path: str = ""
    #: The fitted temperature (also set on ``network``) and any decision thresholds, each a
    #: positive finite number.
    calibration: dict[str, float] = field(default_factory=dict)


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, rename over ``path``, then fsync
    the folder so that the rename itself survives a crash or power loss."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def fsync_directory(folder: str | os.PathLike) -> None:
    """Flush a folder's entries (a rename into it) to disk; a no-op where folders cannot be
    opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def params_dict(
    network: Sequential,
    name: str,
    normalization: dict[str, float],
    meta: dict[str, Any] | None = None,
    calibration: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The plain dict that a parameter file holds (arrays copied, float32); its calibration
    holds the network's temperature and whatever else ``calibration`` adds."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "input_shape": list(network.input_shape),
        "arch": network.spec(),
        "normalization": {k: float(v) for k, v in normalization.items()},
        "params": {k: np.array(v, dtype=np.float32) for k, v in network.parameters().items()},
        "buffers": {k: np.array(v, dtype=np.float32) for k, v in network.buffers().items()},
        "meta": dict(meta or {}),
        "calibration": {"temperature": float(network.temperature),
                        **{k: float(v) for k, v in (calibration or {}).items()}},
    }


def save_params(
    path: str | os.PathLike,
    network: Sequential,
    name: str,
    normalization: dict[str, float],
    meta: dict[str, Any] | None = None,
    calibration: dict[str, float] | None = None,
) -> str:
    """Atomically write a parameter file; returns its SHA-256."""
    data = pickle.dumps(params_dict(network, name, normalization, meta, calibration), protocol=4)
    atomic_write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()


def load_params(path: str | os.PathLike) -> LoadedParams:
    """Safely load a parameter file and rebuild its network in inference mode.

    Raises :class:`ParamsError` (or its subclass :class:`UnsafePickleError`) with a message
    that says what is wrong; never executes code from the file.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ParamsError(f"{path}: {size} bytes is too large for a parameter file")
        data = path.read_bytes()
    except OSError as exc:
        raise ParamsError(f"cannot read parameter file {path}: {exc.strerror or exc}") from exc
    try:
        obj = safe_loads(data)
        loaded = _from_dict(obj)
    except ParamsError as exc:
        raise type(exc)(f"{path}: {exc}") from exc
    loaded.sha256 = hashlib.sha256(data).hexdigest()
    loaded.path = str(path)
    return loaded


def _from_dict(obj: Any) -> LoadedParams:
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ParamsError(f"not a {FORMAT} file")
    if obj.get("format_version") != FORMAT_VERSION:
        raise ParamsError(f"unsupported format version {obj.get('format_version')!r}")
    stores = [obj.get("params"), obj.get("buffers")]
    if not all(isinstance(store, dict) for store in stores):
        raise ParamsError("params and buffers must be dicts of arrays")
    arrays = [a for store in stores for a in store.values()]
    if not all(isinstance(a, np.ndarray) and np.isfinite(a).all() for a in arrays):
        raise ParamsError("weights and statistics must be finite NumPy arrays")
    try:
        network = Sequential.from_spec(obj["arch"], tuple(obj["input_shape"]))
        network.load_state(obj["params"], obj["buffers"])
        normalization = {"mean": float(obj["normalization"]["mean"]),
                         "std": float(obj["normalization"]["std"])}
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ParamsError(f"parameter file does not describe a usable network: {exc}") from exc
    if normalization["std"] <= 0:
        raise ParamsError("normalization std must be positive")
    calibration = _calibration(obj.get("calibration"))
    network.temperature = calibration.get("temperature", 1.0)
    return LoadedParams(network.eval(), str(obj.get("name", "")), normalization,
                        dict(obj.get("meta") or {}), calibration=calibration)


def _calibration(value: Any) -> dict[str, float]:
    """The file's calibration: a dict of positive finite numbers (none: an empty dict)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ParamsError("calibration must be a dict of numbers")
    out = {}
    for key, number in value.items():
        if not isinstance(key, str) or isinstance(number, bool) or not isinstance(
            number, int | float | np.floating
        ) or not np.isfinite(number) or number <= 0:
            raise ParamsError(f"calibration {key!r} must be a positive finite number")
        out[key] = float(number)
    return out
