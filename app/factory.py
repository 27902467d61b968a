"""The application factory: configuration from the environment, model loading, create_app.

:func:`create_app` builds the app. Configuration comes from the environment:

- ``DIGITS_PARAMS``: the parameter file to serve by default (default: params/default.pkl);
- ``DIGITS_MODELS_DIR``: a folder whose other ``*.pkl`` files are offered too, by name
  (``/predict?model=seed``; default: params/; empty: none);
- ``DIGITS_MAX_BODY_BYTES``: the largest request body accepted (default 2 MiB);
- ``DATABASE_URL``: ``postgresql://...`` to keep corrections in PostgreSQL; otherwise
  ``DIGITS_FEEDBACK_DB``, a SQLite file (default instance/feedback.sqlite3);
- ``DATABASE_POOL_SIZE`` (default 2) and ``DATABASE_TIMEOUT`` (seconds, default 2): with
  PostgreSQL, the most connections each worker opens and how long a request waits for one;
- ``DIGITS_FEEDBACK_PER_MINUTE`` (default 60 per worker) and ``DIGITS_FEEDBACK_MAX_ROWS``
  (default 100,000): the limits of POST /api/feedback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from app.errors import register_error_handlers
from app.feedback.api import install as install_feedback
from app.feedback.store import is_postgresql_url
from app.health import bp as health_bp
from app.models import Models, load_others
from app.predictor import Predictor
from app.routes import bp
from app.security import register_security_headers
from model.params_io import ParamsError

ROOT = Path(__file__).resolve().parent.parent
PARAMS_ENV = "DIGITS_PARAMS"
MAX_BODY_ENV = "DIGITS_MAX_BODY_BYTES"
MODELS_DIR_ENV = "DIGITS_MODELS_DIR"
DEFAULT_PARAMS = ROOT / "params" / "default.pkl"
DEFAULT_MODELS_DIR = ROOT / "params"
DEFAULT_MAX_BODY = 2 * 1024 * 1024
DEFAULT_FEEDBACK_DB = ROOT / "instance" / "feedback.sqlite3"


class StartupError(RuntimeError):
    """The service cannot start (for example: its parameter file is missing or refused)."""


def _number(name: str, default: int, what: str) -> int:
    try:
        value = int(os.environ.get(name) or default)
    except ValueError as exc:
        raise StartupError(f"cannot start: {name} must be {what}") from exc
    if value < 1:
        raise StartupError(f"cannot start: {name} must be {what}")
    return value


def _database_url() -> str | None:
    url = os.environ.get("DATABASE_URL") or None
    if url is not None and not is_postgresql_url(url):
        raise StartupError("cannot start: DATABASE_URL must be a postgresql:// URL "
                           "(leave it unset to keep corrections in a SQLite file)")
    return url


def default_config() -> dict[str, Any]:
    """Settings from the environment (see the module docstring)."""
    max_body = _number(MAX_BODY_ENV, DEFAULT_MAX_BODY, "a number of bytes")
    return {
        "PARAMS_PATH": os.environ.get(PARAMS_ENV) or str(DEFAULT_PARAMS),
        "MODELS_DIR": os.environ.get(MODELS_DIR_ENV, str(DEFAULT_MODELS_DIR)),
        "MAX_CONTENT_LENGTH": max_body,
        "MAX_FORM_MEMORY_SIZE": max_body,
        "DATABASE_URL": _database_url(),
        "DATABASE_POOL_SIZE": _number("DATABASE_POOL_SIZE", 2, "a positive number of connections"),
        "DATABASE_TIMEOUT": _number("DATABASE_TIMEOUT", 2, "a positive number of seconds"),
        "FEEDBACK_DB": os.environ.get("DIGITS_FEEDBACK_DB") or str(DEFAULT_FEEDBACK_DB),
        "FEEDBACK_PER_MINUTE": _number("DIGITS_FEEDBACK_PER_MINUTE", 60,
                                       "a positive number of corrections"),
        "FEEDBACK_MAX_ROWS": _number("DIGITS_FEEDBACK_MAX_ROWS", 100_000,
                                     "a positive number of rows"),
        "DEBUG": False,
        "TESTING": False,
    }


def load_predictor(path: str | os.PathLike) -> Predictor:
    """Load the parameter file or raise :class:`StartupError` saying clearly why not."""
    try:
        return Predictor.from_file(path)
    except ParamsError as exc:
        raise StartupError(
            f"cannot start: the model parameter file was not loaded: {exc} "
            f"(set {PARAMS_ENV} to a valid parameter file)"
        ) from exc


def create_app(config: dict[str, Any] | None = None, predictor: Predictor | None = None) -> Flask:
    """Build the app; loads the models now (once per process): the default one
    (``predictor``, else the file at PARAMS_PATH) and every other file in MODELS_DIR."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        static_url_path="/static",
    )
    app.config.update(default_config())
    app.config.update(config or {})
    default = predictor or load_predictor(app.config["PARAMS_PATH"])
    app.extensions["digits_predictor"] = default
    app.extensions["digits_models"] = Models(default, load_others(app.config["MODELS_DIR"],
                                                                  default))
    register_error_handlers(app)
    register_security_headers(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(bp)
    install_feedback(app)
    return app
