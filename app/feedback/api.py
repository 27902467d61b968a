"""POST /api/feedback: a person says what a mark really is; the correction is stored.

The body (JSON)::

    {"id": "3f2a...",                          # made by the client; a retry is stored once
     "image": "data:image/png;base64,...",     # the 28x28 input_image /predict answered
     "label": 7,                               # 0-9, or "not_a_digit"
     "predicted": {"status": "ok", "digit": 1, "confidence": 0.62},
     "model": {"name": "default", "version": "2.0.0"},
     "box": [10, 12, 90, 140]}                 # optional: the digit's box in the drawing

Answers 201 ``{"status": "saved", "id"}`` once the correction is committed, 200
``{"status": "already_saved", "id"}`` for an id already stored, and JSON errors: 400 (a bad
field), 429 (too many corrections from this worker in a minute), 503 (the store cannot be
written: read-only, disk full, database down; reading digits is unaffected), 507 (the store
is full).
"""

from __future__ import annotations

import collections
import io
import json
import re
import threading
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from PIL import Image, UnidentifiedImageError

from app.errors import ApiError, error_response
from app.feedback.store import (
    Correction,
    Store,
    StoreFullError,
    StoreUnavailableError,
    open_store,
)
from app.payload import decode_base64_image, json_document

bp = Blueprint("feedback", __name__)

NOT_A_DIGIT = "not_a_digit"
_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_STATUSES = ("ok", "not_a_digit", "no_digit")


class RateLimit:
    """At most ``per_minute`` events in any 60 seconds, in this process (thread-safe)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._times: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def allow(self) -> float:
        """0.0 when allowed (and counted), else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            while self._times and now - self._times[0] >= 60.0:
                self._times.popleft()
            if len(self._times) >= self.per_minute:
                return 60.0 - (now - self._times[0])
            self._times.append(now)
            return 0.0


class Feedback:
    """The app's corrections: the store (opened on first use: /predict never touches it),
    and this worker's rate limit. Settings from the app config: DATABASE_URL,
    DATABASE_POOL_SIZE, DATABASE_TIMEOUT, FEEDBACK_DB (SQLite path), FEEDBACK_PER_MINUTE,
    FEEDBACK_MAX_ROWS."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.limit = RateLimit(int(config["FEEDBACK_PER_MINUTE"]))
        self._store: Store | None = None
        self._lock = threading.Lock()

    def store(self) -> Store:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = open_store(self.config.get("DATABASE_URL"),
                                             self.config["FEEDBACK_DB"],
                                             int(self.config["FEEDBACK_MAX_ROWS"]),
                                             pool_size=int(self.config["DATABASE_POOL_SIZE"]),
                                             timeout=float(self.config["DATABASE_TIMEOUT"]))
        return self._store

    def close(self) -> None:
        """Close the store's connections, if it was opened (a worker that exits)."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    @property
    def configured_database(self) -> bool:
        """Whether a database server (not the default SQLite file) is configured."""
        return bool(self.config.get("DATABASE_URL"))


def install(app: Flask) -> None:
    """Register /api/feedback and the app's :class:`Feedback`."""
    app.extensions["feedback"] = Feedback(app.config)
    app.register_blueprint(bp)


def store() -> Store:
    return current_app.extensions["feedback"].store()


@bp.post("/api/feedback")
def feedback() -> tuple[Response, int] | Response:
    """Store one correction (see the module docstring)."""
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type",
                       "Send the correction as JSON (Content-Type: application/json).")
    correction = parse(json_document(request, "The request body is empty: send a correction."))
    wait = current_app.extensions["feedback"].limit.allow()
    if wait:
        response = error_response(429, "too_many_corrections",
                                  "Too many corrections in the last minute; try again shortly.")
        response.headers["Retry-After"] = str(max(1, round(wait)))
        return response
    try:
        created = store().add(correction)
    except StoreFullError as exc:
        raise ApiError(507, "feedback_store_full",
                       f"The correction was not saved: {exc}. Reading digits still works.") from exc
    except StoreUnavailableError as exc:
        current_app.logger.warning("feedback store unavailable: %s", exc)
        raise ApiError(503, "feedback_unavailable",
                       "The correction could not be saved right now (the store cannot be "
                       "written); reading digits still works. Try again later.") from exc
    body = {"status": "saved" if created else "already_saved", "id": correction.id}
    return jsonify(body), 201 if created else 200


def parse(document: Any) -> Correction:
    """A valid correction from the JSON document, or ApiError 400 saying which field."""
    if not isinstance(document, dict):
        raise _bad("body", "must be a JSON object")
    identifier = document.get("id")
    if not isinstance(identifier, str) or not _ID.match(identifier):
        raise _bad("id", "must be 8-64 letters, digits, '-' or '_' (a UUID does)")
    label = document.get("label")
    if label == NOT_A_DIGIT:
        label = 10
    elif isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 9:
        raise _bad("label", f'must be a digit 0-9 or "{NOT_A_DIGIT}"')
    predicted = document.get("predicted")
    if not isinstance(predicted, dict) or predicted.get("status") not in _STATUSES:
        raise _bad("predicted", "must be an object with status ok, not_a_digit or no_digit")
    digit, confidence = predicted.get("digit"), predicted.get("confidence")
    if digit is not None and (isinstance(digit, bool) or not isinstance(digit, int)
                              or not 0 <= digit <= 9):
        raise _bad("predicted.digit", "must be a digit 0-9 or null")
    if confidence is not None and (isinstance(confidence, bool)
                                   or not isinstance(confidence, int | float)
                                   or not 0 <= confidence <= 1):
        raise _bad("predicted.confidence", "must be a probability or null")
    model = document.get("model")
    if not isinstance(model, dict) or not all(
        isinstance(model.get(key), str) and 0 < len(model[key]) <= 64 for key in ("name", "version")
    ):
        raise _bad("model", "must be an object with a name and a version (short strings)")
    box = document.get("box")
    if box is not None and not (isinstance(box, list) and len(box) == 4 and all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 20 for v in box)):
        raise _bad("box", "must be [x0, y0, x1, y1] in pixels, or left out")
    return Correction(
        id=identifier,
        created_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        image=image_28x28(document.get("image")),
        predicted_status=predicted["status"],
        predicted_digit=digit,
        confidence=None if confidence is None else float(confidence),
        label=label,
        model_name=model["name"],
        model_version=model["version"],
        box=None if box is None else json.dumps(box),
    )


def image_28x28(value: Any) -> bytes:
    """The 784 bytes of a 28x28 grayscale PNG given as a data URL or base64."""
    if not isinstance(value, str):
        raise _bad("image", "must be the 28x28 input_image (a PNG data URL) /predict answered")
    data = decode_base64_image(value)
    try:
        image = Image.open(io.BytesIO(data), formats=("PNG",))
        if image.size != (28, 28):
            raise _bad("image", f"must be 28x28 pixels, not {image.size[0]}x{image.size[1]}")
        pixels = np.asarray(image.convert("L"), np.uint8)
    except ApiError:
        raise
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise _bad("image", "must be a PNG image") from exc
    return pixels.tobytes()


def _bad(field: str, message: str) -> ApiError:
    return ApiError(400, "invalid_feedback", f"{field} {message}.")
