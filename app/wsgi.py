"""The WSGI entry point for gunicorn: ``gunicorn -c gunicorn.conf.py`` (``app.wsgi:app``).

BLAS is pinned to one thread before anything imports NumPy; the model loads here, once per
worker process, as the worker starts.
"""

import logging
import os

from app.blas import openblas_threads, pin_blas_threads

pin_blas_threads()

from app.factory import create_app  # noqa: E402 (NumPy must not load before the pinning)

app = create_app()
logging.getLogger("gunicorn.error").info(
    "worker %d ready: model %s, OpenBLAS threads %s", os.getpid(),
    app.extensions["digits_predictor"].version, openblas_threads(),
)
