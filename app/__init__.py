"""The prediction service: a Flask app that reads handwritten digits with the NumPy CNN.

Modules: :mod:`app.factory` (``create_app``, configuration, model loading), :mod:`app.routes`
(the HTTP routes), :mod:`app.payload` (getting image bytes out of a request),
:mod:`app.reading` (the image-reading pipeline, without Flask: decoding, ink, MNIST-style 28x28),
:mod:`app.predictor` (the loaded network), :mod:`app.errors`, :mod:`app.security`,
:mod:`app.openapi`, :mod:`app.pngs`, :mod:`app.blas` and :mod:`app.wsgi` (gunicorn's entry).

This file imports nothing heavy, so ``app.blas`` can pin BLAS threads before NumPy loads.
"""

from typing import Any

_FACTORY_NAMES = frozenset({"create_app", "StartupError", "default_config", "load_predictor"})


def __getattr__(name: str) -> Any:
    """``from app import create_app`` still works: loaded from app.factory on first use."""
    if name in _FACTORY_NAMES:
        from app import factory  # lazy on purpose: see the module docstring

        return getattr(factory, name)
    raise AttributeError(f"module 'app' has no attribute {name!r}")
