"""Read and change the BLAS thread count at run time (what threadpoolctl does, for OpenBLAS).

NumPy's wheels bundle OpenBLAS; it reads ``OPENBLAS_NUM_THREADS`` once, when it loads, but
its ``*_set_num_threads`` entry point changes the count later. The library is found among
the shared objects this process has mapped, so nothing here depends on how NumPy was built:
with another BLAS (or none found) every function is a harmless no-op that returns None.
The count is process-wide (OpenBLAS has no per-thread setting that works in NumPy's build).
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Iterator
from contextlib import contextmanager

_PREFIXES = ("scipy_openblas", "openblas")
_SUFFIXES = ("64_", "")


@functools.cache
def _entry_points() -> tuple[ctypes._CFuncPtr, ctypes._CFuncPtr] | None:
    """(get_num_threads, set_num_threads) of the loaded OpenBLAS, or None."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower()})
    except OSError:
        return None
    for path in paths:
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in _PREFIXES:
            for suffix in _SUFFIXES:
                getter = getattr(library, f"{prefix}_get_num_threads{suffix}", None)
                setter = getattr(library, f"{prefix}_set_num_threads{suffix}", None)
                if getter is not None and setter is not None:
                    getter.restype, getter.argtypes = ctypes.c_int, []
                    setter.restype, setter.argtypes = None, [ctypes.c_int]
                    return getter, setter
    return None


def get_threads() -> int | None:
    """The thread count OpenBLAS uses now, or None when no OpenBLAS is loaded."""
    import numpy  # noqa: F401  (OpenBLAS is mapped once NumPy is imported)

    entry = _entry_points()
    return int(entry[0]()) if entry else None


def set_threads(threads: int) -> int | None:
    """Make OpenBLAS use ``threads`` threads; returns the previous count (None: no OpenBLAS)."""
    if threads < 1:
        raise ValueError(f"BLAS threads must be >= 1: {threads}")
    previous = get_threads()
    if previous is not None and previous != threads:
        _entry_points()[1](threads)
    return previous


@contextmanager
def blas_threads(threads: int) -> Iterator[None]:
    """Run the body with OpenBLAS on ``threads`` threads, then restore the previous count."""
    previous = set_threads(threads)
    try:
        yield
    finally:
        if previous is not None:
            set_threads(previous)
