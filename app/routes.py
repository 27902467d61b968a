"""The HTTP routes: the page, /predict, /api/model, /healthz and /openapi.json."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from flask import Blueprint, Response, current_app, jsonify, render_template, request

from app.errors import ApiError
from app.openapi import openapi_document
from app.payload import image_bytes
from app.pngs import png_data_url
from app.predictor import Predictor
from app.reading.decode import decode_image
from app.reading.prepare import prepare

bp = Blueprint("digits", __name__)

#: The values a boolean query parameter may take (exactly, as /openapi.json lists them).
_TRUE = frozenset({"1", "true"})
_FALSE = frozenset({"0", "false"})


def predictor() -> Predictor:
    return current_app.extensions["digits_predictor"]


@bp.get("/")
def index() -> str:
    return render_template("index.html")


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


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
    prepared = prepare(decode_image(image_bytes(request)))
    model = predictor()
    body: dict[str, Any] = {"model": {"name": model.name, "version": model.version}}
    image = prepared.digits[0].image if prepared.digits else np.zeros((28, 28), np.float32)
    if prepared.blank_reason is not None:
        body.update(status="no_digit", digit=None, confidence=None, probabilities=None,
                    message=prepared.blank_reason)
    else:
        prediction = model.predict(image)
        body.update(
            status="ok",
            digit=prediction.digit,
            confidence=prediction.confidence,
            probabilities=[float(p) for p in prediction.probabilities],
            message=(f"The network reads this as a {prediction.digit} "
                     f"({prediction.confidence:.1%} confident)."),
        )
    body["input_image"] = png_data_url(image)
    if explain:
        body["feature_maps"] = model.feature_maps(image)
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
