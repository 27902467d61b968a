"""Pin BLAS/OpenMP to one thread per process, and ask OpenBLAS what it actually uses.

Each gunicorn worker is its own process; letting every worker's BLAS start a thread per core
would oversubscribe the CPUs. :func:`pin_blas_threads` must run before NumPy is first
imported (OpenBLAS reads the variables once, when it loads). Values already in the
environment are respected.
"""

from __future__ import annotations

import ctypes
import os

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
_GETTERS = (
    "scipy_openblas_get_num_threads64_",
    "scipy_openblas_get_num_threads",
    "openblas_get_num_threads64_",
    "openblas_get_num_threads",
)


def pin_blas_threads(threads: int = 1) -> None:
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, str(threads))


def openblas_threads() -> int | None:
    """The thread count the loaded OpenBLAS reports, or None when it cannot be asked."""
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
        for name in _GETTERS:
            getter = getattr(library, name, None)
            if getter is not None:
                getter.restype = ctypes.c_int
                return int(getter())
    return None
