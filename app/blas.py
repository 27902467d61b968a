"""Pin BLAS/OpenMP to one thread per process, and ask OpenBLAS what it actually uses.

Each gunicorn worker is its own process; letting every worker's BLAS start a thread per core
would oversubscribe the CPUs. :func:`pin_blas_threads` must run before NumPy is first
imported (OpenBLAS reads the variables once, when it loads). Values already in the
environment are respected.
"""

from __future__ import annotations

import os

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def pin_blas_threads(threads: int = 1) -> None:
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, str(threads))


def openblas_threads() -> int | None:
    """The thread count the loaded OpenBLAS reports, or None when it cannot be asked (the
    engine's own reader: :func:`model.blas_threads.get_threads`). Imports NumPy: call it
    after :func:`pin_blas_threads`."""
    from model.blas_threads import get_threads

    return get_threads()
