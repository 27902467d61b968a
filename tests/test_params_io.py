"""Parameter files: exact round trip, and refusal of anything but plain data."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from model.inference import MNIST_NORMALIZATION
from model.params_io import (
    ParamsError,
    UnsafePickleError,
    load_params,
    params_dict,
    safe_loads,
    save_params,
)
from model.presets import build_preset


class RunsACommand:
    """What an attacker would pickle: unpickling it calls os.system."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def trained_like(name="default"):
    net = build_preset(name, seed=5)
    rng = np.random.default_rng(0)
    for value in [*net.parameters().values(), *net.buffers().values()]:
        value[...] = np.abs(rng.standard_normal(value.shape))  # variances must be >= 0
    return net


@pytest.mark.parametrize("preset", ["seed", "default"])
def test_round_trip_is_exact(tmp_path, preset):
    net = trained_like(preset)
    path = tmp_path / "p.pkl"
    digest = save_params(path, net, preset, MNIST_NORMALIZATION, {"test_accuracy": 0.99})
    loaded = load_params(path)
    assert loaded.sha256 == digest and loaded.name == preset
    assert loaded.normalization == MNIST_NORMALIZATION
    assert loaded.meta == {"test_accuracy": 0.99}
    assert loaded.network.spec() == net.spec()
    for key, value in net.parameters().items():
        np.testing.assert_array_equal(loaded.network.parameters()[key], value)
    for key, value in net.buffers().items():
        np.testing.assert_array_equal(loaded.network.buffers()[key], value)
    x = np.random.default_rng(1).standard_normal((4, 1, 28, 28)).astype(np.float32)
    np.testing.assert_array_equal(loaded.network.predict_proba(x), net.predict_proba(x))


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    payload = params_dict(trained_like("seed"), "seed", MNIST_NORMALIZATION)
    payload["meta"] = {"note": RunsACommand(marker)}
    path.write_bytes(pickle.dumps(payload))
    with pytest.raises(UnsafePickleError, match=r"refused to load (posix|os)\.system"):
        load_params(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload",
    [
        pickle.dumps(RunsACommand("/nonexistent/x")),
        b"cbuiltins\neval\n(S'1+1'\ntR.",  # protocol 0 GLOBAL opcode
        pickle.dumps({"f": np.array([object()], dtype=object)}),
        pickle.dumps(np.float32),  # a class, not data
    ],
)
def test_other_unsafe_payloads_are_refused(payload):
    with pytest.raises(UnsafePickleError):
        safe_loads(payload)


def test_object_arrays_of_plain_values_are_refused_too():
    with pytest.raises(UnsafePickleError, match="numeric"):
        safe_loads(pickle.dumps({"a": np.array([1, "x"], dtype=object)}))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a readable"),
        (b"\x80\x04\x95\x10", "not a readable"),  # truncated
        (pickle.dumps({"format": "something-else"}), "not a numpy-cnn-params"),
        (pickle.dumps([1, 2, 3]), "not a numpy-cnn-params"),
    ],
)
def test_malformed_files_give_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.pkl"
    path.write_bytes(content)
    with pytest.raises(ParamsError, match=message):
        load_params(path)


def test_shape_mismatch_and_missing_file(tmp_path):
    payload = params_dict(trained_like("seed"), "seed", MNIST_NORMALIZATION)
    payload["params"]["0.W"] = np.zeros((3, 3), np.float32)
    path = tmp_path / "shape.pkl"
    path.write_bytes(pickle.dumps(payload))
    with pytest.raises(ParamsError, match="shape"):
        load_params(path)
    with pytest.raises(ParamsError, match="cannot read"):
        load_params(tmp_path / "missing.pkl")


def test_non_finite_weights_are_refused(tmp_path):
    payload = params_dict(trained_like("seed"), "seed", MNIST_NORMALIZATION)
    payload["params"]["6.W"][0, 0] = np.nan
    path = tmp_path / "nan.pkl"
    path.write_bytes(pickle.dumps(payload))
    with pytest.raises(ParamsError, match="finite"):
        load_params(path)


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    path = tmp_path / "p.pkl"
    save_params(path, trained_like("seed"), "seed", MNIST_NORMALIZATION)
    before = path.read_bytes()

    def crash(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save_params(path, trained_like("default"), "default", MNIST_NORMALIZATION)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.pkl"]


def test_save_fsyncs_the_folder_after_the_rename(tmp_path, monkeypatch):
    """The rename is durable only once the folder's entry is on disk: file fsync, rename,
    then an fsync of the folder itself, in that order."""
    import stat

    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        mode = os.fstat(fd).st_mode
        events.append(("fsync-folder" if stat.S_ISDIR(mode) else "fsync-file",
                       os.fstat(fd).st_ino))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", None))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    save_params(tmp_path / "p.pkl", trained_like("seed"), "seed", MNIST_NORMALIZATION)
    assert [kind for kind, _ in events] == ["fsync-file", "replace", "fsync-folder"]
    assert events[-1][1] == tmp_path.stat().st_ino
