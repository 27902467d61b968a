"""The HTTP routes: the page, /predict, /api/model and /openapi.json (/healthz and /readyz:
:mod:`app.health`)."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from app.answers import BLANK_IMAGE, explanation_answer, predict_answer, single_mark
from app.errors import ApiError
from app.openapi import openapi_document
from app.payload import image_bytes
from app.predictor import Predictor
from app.reading.decode import decode_image
from app.reading.reader import read

bp = Blueprint("digits", __name__)

#: The values a boolean query parameter may take (exactly, as /openapi.json lists them).
_TRUE = frozenset({"1", "true"})
_FALSE = frozenset({"0", "false"})


def predictor() -> Predictor:
    return current_app.extensions["digits_predictor"]


@bp.get("/")
def index() -> str:
    return render_template("index.html")


@bp.get("/api/model")
def model_info() -> Response:
    return jsonify(predictor().describe())


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


@bp.post("/predict")
def predict() -> Response:
    started = time.perf_counter()
    explain = _flag("explain")
    model = predictor()
    reading = read(decode_image(image_bytes(request)), model.predict_many)
    body: dict[str, Any] = {"model": {"name": model.name, "version": model.version},
                            **predict_answer(reading)}
    if explain:
        looked_at = single_mark(reading) or (reading.marks[0] if reading.marks else None)
        image = looked_at.image if looked_at is not None else BLANK_IMAGE
        body["feature_maps"] = model.feature_maps(image)
        for mark, answer in zip(reading.marks, body["digits"], strict=True):
            answer["explanation"] = explanation_answer(
                model.explain(mark.image, mark.prediction.digit))
    body["time_ms"] = round((time.perf_counter() - started) * 1000.0, 3)
    return jsonify(body)


def _flag(name: str) -> bool:
    values = request.args.getlist(name)
    if not values:
        return False
    if len(values) == 1 and values[0] in _TRUE | _FALSE:
        return values[0] in _TRUE
    raise ApiError(400, "invalid_parameter",
                   f"Query parameter {name} must be given once, as 1, 0, true or false.")
