"""The restricted unpickler against known pickle gadgets.

Each gadget below is a real exploit: :func:`test_gadget_is_live_without_the_restriction`
proves that plain ``pickle.loads`` runs it (a marker file appears). The restricted loader
must refuse every one of them with :class:`UnsafePickleError` before anything runs (the
marker never appears). The allow-list itself is pinned, so widening it is a visible change.
"""

from __future__ import annotations

import contextlib
import copyreg
import functools
import io
import os
import pickle
import pickletools
import shlex
import struct
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.testing._private.utils as numpy_testing_utils
import pytest
from numpy._core.numeric import _frombuffer

from model import params_io
from model.params_io import ParamsError, RestrictedUnpickler, UnsafePickleError, safe_loads

#: What a NumPy array pickle needs, and nothing else. Widening this is a security decision.
EXPECTED_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
}


class Call:
    """Pickles as "call ``func`` with ``args``" (through ``__reduce_ex__``, any protocol).

    ``func`` and ``args`` may themselves be :class:`Call` objects: the unpickler then runs the
    inner calls first and calls what they return (nested reduces).
    """

    def __init__(self, func: Callable | Call, *args, state=None) -> None:
        self.func, self.args, self.state = func, args, state

    def __call__(self, *args):  # pickle only wants a callable "func"; never called here
        raise AssertionError("not meant to be called")

    def __reduce_ex__(self, protocol):
        if self.state is None:
            return (self.func, self.args)
        return (self.func, self.args, self.state)  # REDUCE, then BUILD with the state


def python_writes(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').close()"


def shell_touch(marker: Path) -> str:
    return f"touch {shlex.quote(str(marker))}"


def opcodes(data: bytes) -> set[str]:
    return {op.name for op, _arg, _pos in pickletools.genops(data)}


def short_unicode(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def dotted_stack_global(marker: Path) -> bytes:
    """Protocol 4 STACK_GLOBAL of a dotted name: numpy._core.numeric's ``builtins.exec``."""
    code = python_writes(marker).encode()
    return (
        b"\x80\x04"
        + short_unicode("numpy._core.numeric")
        + short_unicode("builtins.exec")
        + b"\x93"  # STACK_GLOBAL
        + b"X" + struct.pack("<I", len(code)) + code  # BINUNICODE
        + b"\x85R."  # TUPLE1, REDUCE, STOP
    )


def getattr_chain(marker: Path) -> Call:
    """Only ``builtins.getattr`` plus allowed NumPy names: an allowed function's globals lead
    to ``__builtins__``, and from there to ``exec``."""
    module_globals = Call(getattr, _frombuffer, "__globals__")
    builtins_dict = Call(Call(getattr, module_globals, "get"), "__builtins__")
    exec_ = Call(Call(getattr, builtins_dict, "get"), "exec")
    return Call(exec_, python_writes(marker))


def partial_rebuilt_by_build(marker: Path) -> Call:
    """A harmless ``partial(print)`` whose BUILD (``__setstate__``) swaps in os.system."""
    harmful = Call(functools.partial, print,
                   state=(os.system, (shell_touch(marker),), {}, None))
    return Call(harmful)


#: name -> (payload for a marker path, whether the command runs asynchronously)
GADGETS: dict[str, tuple[Callable[[Path], bytes], bool]] = {
    **{
        f"os.system-protocol-{p}": (
            lambda m, p=p: pickle.dumps(Call(os.system, shell_touch(m)), protocol=p), False
        )
        for p in range(6)
    },
    "builtins.eval": (lambda m: pickle.dumps(Call(eval, python_writes(m))), False),
    "builtins.exec-protocol-0": (
        lambda m: pickle.dumps(Call(exec, python_writes(m)), protocol=0), False
    ),
    "builtins.getattr-chain": (lambda m: pickle.dumps(getattr_chain(m)), False),
    "builtins.open": (lambda m: pickle.dumps(Call(open, str(m), "w")), False),
    "numpy.testing-runstring": (
        lambda m: pickle.dumps(Call(numpy_testing_utils.runstring, python_writes(m), {})), False
    ),
    "numpy.save": (lambda m: pickle.dumps(Call(np.save, str(m), 0)), False),
    "numpy-dotted-name-stack-global": (dotted_stack_global, False),
    "subprocess.check_call": (
        lambda m: pickle.dumps(Call(subprocess.check_call, ["touch", str(m)])), False
    ),
    "copyreg._reconstructor-popen": (
        lambda m: pickle.dumps(
            Call(copyreg._reconstructor, subprocess.Popen, subprocess.Popen, ["touch", str(m)]),
            protocol=2,
        ),
        True,
    ),
    "functools.partial-called": (
        lambda m: pickle.dumps(Call(Call(functools.partial, os.system, shell_touch(m)))), False
    ),
    "functools.partial-BUILD": (lambda m: pickle.dumps(partial_rebuilt_by_build(m)), False),
    "pickle.loads-nested": (
        lambda m: pickle.dumps(Call(pickle.loads, pickle.dumps(Call(os.system, shell_touch(m))))),
        False,
    ),
    "INST-opcode": (
        lambda m: b"(V" + shell_touch(m).encode() + b"\nios\nsystem\n.", False
    ),
    "OBJ-opcode": (
        lambda m: b"(cos\nsystem\nV" + shell_touch(m).encode() + b"\no.", False
    ),
    "inside-an-allowed-numpy-call": (
        lambda m: pickle.dumps(
            Call(np._core.multiarray._reconstruct, np.ndarray, (0,),
                 Call(os.system, shell_touch(m))),
            protocol=4,
        ),
        False,
    ),
    "inside-an-object-array": (
        lambda m: pickle.dumps(np.array([Call(os.system, shell_touch(m))], dtype=object)),
        False,
    ),
    "inside-a-parameter-dict": (
        lambda m: pickle.dumps(
            {"format": params_io.FORMAT, "params": {"0.W": np.zeros(2, np.float32)},
             "meta": {"note": Call(os.system, shell_touch(m))}},
            protocol=4,
        ),
        False,
    ),
}


def appeared(marker: Path, asynchronous: bool) -> bool:
    """Whether ``marker`` exists; a command started in the background gets a moment."""
    deadline = time.monotonic() + (5.0 if asynchronous else 0.0)
    while True:
        if marker.exists() or time.monotonic() >= deadline:
            return marker.exists()
        time.sleep(0.05)


@pytest.fixture
def os_system_extension():
    """Register os.system as copyreg extension code 240, for an EXT1 gadget."""
    code = 240
    copyreg.add_extension("posix", "system", code)
    try:
        yield code
    finally:
        copyreg.remove_extension("posix", "system", code)


@pytest.mark.parametrize("name", GADGETS)
def test_gadget_is_live_without_the_restriction(tmp_path, name):
    """Control: plain pickle.loads really runs each gadget, so the test below means something."""
    build, asynchronous = GADGETS[name]
    marker = tmp_path / "ran.npy"
    with contextlib.suppress(Exception):  # some fail after their command has run
        pickle.loads(build(marker))  # deliberately unsafe: the control
    assert appeared(marker, asynchronous), f"{name} did not run under plain pickle.loads"


@pytest.mark.parametrize("name", GADGETS)
def test_gadget_is_refused_and_runs_nothing(tmp_path, name):
    build, asynchronous = GADGETS[name]
    marker = tmp_path / "ran.npy"
    with pytest.raises(UnsafePickleError, match=r"refused|numeric|unexpected"):
        safe_loads(build(marker))
    assert not appeared(marker, asynchronous), f"{name} ran inside the restricted loader"


def test_both_global_opcodes_are_covered(tmp_path):
    marker = tmp_path / "m"
    for protocol in range(6):
        data = GADGETS[f"os.system-protocol-{protocol}"][0](marker)
        assert ("STACK_GLOBAL" if protocol >= 4 else "GLOBAL") in opcodes(data)
    assert "INST" in opcodes(GADGETS["INST-opcode"][0](marker))
    assert "OBJ" in opcodes(GADGETS["OBJ-opcode"][0](marker))
    assert "BUILD" in opcodes(GADGETS["functools.partial-BUILD"][0](marker))


def test_extension_registry_gadget_is_refused(tmp_path, os_system_extension):
    """After one plain load the code sits in the unpickler's cache, where find_class is never
    asked: only the opcode scan stands in the way then."""
    marker = tmp_path / "ran"
    command = shell_touch(marker).encode()
    payload = b"\x80\x02\x82" + bytes([os_system_extension]) + b"X" + struct.pack(
        "<I", len(command)) + command + b"\x85R."  # EXT1, BINUNICODE, TUPLE1, REDUCE
    pickle.loads(payload)  # the control: code 240 is os.system
    assert marker.exists()
    marker.unlink()
    with pytest.raises(UnsafePickleError, match="refused copyreg extension code 240"):
        safe_loads(payload)
    assert not marker.exists()


def test_persistent_ids_are_refused():
    with pytest.raises(UnsafePickleError, match="persistent"):
        safe_loads(b"Pos.system\n.")  # PERSID, protocol 0


def test_out_of_band_buffers_are_not_read():
    buffers: list = []
    data = pickle.dumps(np.arange(4.0), protocol=5, buffer_callback=buffers.append)
    assert buffers and "NEXT_BUFFER" in opcodes(data)
    with pytest.raises(ParamsError, match="not a readable"):
        safe_loads(data)


def test_the_allow_list_is_exactly_what_arrays_need():
    assert params_io._ALLOWED_GLOBALS == EXPECTED_ALLOWED


def test_every_other_numpy_name_is_refused():
    """No rule by module prefix: NumPy's own functions are refused like any other."""
    modules = [np, np._core.multiarray, np._core.numeric, numpy_testing_utils, np.lib.npyio]
    checked = 0
    for module in modules:
        for name in dir(module):
            if (module.__name__, name) in EXPECTED_ALLOWED:
                continue
            unpickler = RestrictedUnpickler(io.BytesIO(b""))
            with pytest.raises(UnsafePickleError):
                unpickler.find_class(module.__name__, name)
            checked += 1
    assert checked > 500


@pytest.mark.parametrize("protocol", [3, 4, 5])  # below 3, bytes pickle via _codecs
def test_plain_numeric_data_still_loads(protocol):
    """The restriction must not refuse what parameter files legitimately hold."""
    value = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "s": np.float32(1.5),
             "i": np.int64(3), "t": (1, "a", None, 2.5, True, b"x")}
    loaded = safe_loads(pickle.dumps(value, protocol=protocol))
    assert loaded.keys() == value.keys() and loaded["t"] == value["t"]
    np.testing.assert_array_equal(loaded["w"], value["w"])
