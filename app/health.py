"""Liveness and readiness: ``GET /healthz`` and ``GET /readyz``.

- ``/healthz`` (liveness): the process is alive and answers HTTP. It touches nothing else,
  so a slow or absent database never makes it fail: restart a replica when this fails
  (the Docker HEALTHCHECK, Kubernetes' livenessProbe).
- ``/readyz`` (readiness): this replica can do its whole job now: the model answers (one
  forward pass on a blank image) and the corrections store is reachable: with
  ``DATABASE_URL`` a real round trip to PostgreSQL (which also brings its schema up to date
  on first use), else the SQLite file opens. 503 when either fails: send this replica no
  traffic until it passes again (Kubernetes' readinessProbe). The store check gives up
  within ``DATABASE_TIMEOUT`` seconds, and answers at once while the store is known to be
  down (see :class:`app.feedback.store.PostgresStore`).

Neither says why in detail (no host names, no driver messages): the reason is logged.
"""

from __future__ import annotations

import logging

import numpy as np
from flask import Blueprint, Response, current_app, jsonify

from app.feedback.store import StoreUnavailableError

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    checks = {"model": _model_check(), "database": _database_check()}
    ready = all(value == "ok" for value in checks.values())
    feedback = current_app.extensions["feedback"]
    body = {"status": "ready" if ready else "not_ready", "checks": checks,
            "database": "postgresql" if feedback.configured_database else "sqlite"}
    if not ready:
        failing = ", ".join(name for name, value in checks.items() if value != "ok")
        body["error"] = {"code": "not_ready", "message": f"Not ready: {failing} unavailable."}
    return jsonify(body), 200 if ready else 503


def _model_check() -> str:
    """'ok' when the served network computes finite probabilities for a blank image."""
    try:
        [prediction] = current_app.extensions["digits_predictor"].predict_many(
            np.zeros((1, 28, 28), np.float32))
        ok = bool(np.all(np.isfinite(prediction.probabilities)))
    except Exception:  # readiness reports any failure as such
        log.exception("readiness: the model failed on a blank image")
        return "failing"
    return "ok" if ok else "failing"


def _database_check() -> str:
    """'ok' when the corrections store answers a query (see the module docstring)."""
    try:
        current_app.extensions["feedback"].store().ping()
    except StoreUnavailableError as exc:
        log.warning("readiness: the corrections store is unavailable: %s", exc)
        return "unavailable"
    return "ok"
