"""The HTTP routes: the page, /predict, /api/model(s), /api/report, /api/kernels and
/openapi.json (/healthz and /readyz: :mod:`app.health`). Each model route takes
``?model=NAME`` (default: the default model)."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from app.answers import BLANK_IMAGE, explanation_answer, predict_answer, single_mark
from app.errors import ApiError
from app.models import Models
from app.openapi import openapi_document
from app.payload import image_bytes
from app.predictor import Predictor
from app.reading.decode import decode_image
from app.reading.reader import read

bp = Blueprint("digits", __name__)

#: The values a boolean query parameter may take (exactly, as /openapi.json lists them).
_TRUE = frozenset({"1", "true"})
_FALSE = frozenset({"0", "false"})


def models() -> Models:
    return current_app.extensions["digits_models"]


def predictor() -> Predictor:
    """The model the request names with ?model= (the default one without it)."""
    values = request.args.getlist("model")
    if len(values) > 1 or values == [""]:
        raise ApiError(400, "invalid_parameter",
                       "Query parameter model must be given at most once, as a model's name.")
    return models().get(values[0] if values else None)


@bp.get("/")
def index() -> str:
    return render_template("index.html")


@bp.get("/api/model")
def model_info() -> Response:
    return jsonify(predictor().describe())


@bp.get("/api/models")
def model_list() -> Response:
    every = models()
    return jsonify({"default": every.default.name,
                    "models": [model.summary() for model in every]})


@bp.get("/api/report")
def report() -> Response:
    return jsonify(predictor().report)


@bp.get("/api/kernels")
def kernels() -> Response:
    return jsonify(predictor().kernels)


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(models().names))


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
