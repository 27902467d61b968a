"""The OpenAPI 3.1 document served at /openapi.json, describing the API as it behaves."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from app.payload import RAW_TYPES
from app.reading.decode import MAX_SIDE

_DATA_URL = {"type": "string", "pattern": "^data:image/png;base64,[A-Za-z0-9+/=]+$"}
_PROBABILITY = {"type": "number", "minimum": 0, "maximum": 1}

_ERROR = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$",
                         "description": "Machine-readable, e.g. invalid_base64."},
                "message": {"type": "string", "description": "A human sentence."},
            },
        }
    },
}

_FEATURE_MAP = {
    "type": "object",
    "required": ["layer", "index", "description", "channels", "height", "width", "maps"],
    "properties": {
        "layer": {"type": "string", "description": 'Layer name, e.g. "0:conv2d".'},
        "index": {"type": "integer", "minimum": 0},
        "description": {"type": "string"},
        "channels": {"type": "integer", "minimum": 1},
        "height": {"type": "integer", "minimum": 1},
        "width": {"type": "integer", "minimum": 1},
        "scale": {
            "type": "object", "required": ["min", "max"],
            "properties": {"min": {"type": "number"}, "max": {"type": "number"}},
            "description": "The values that black (min) and white (max) stand for in every "
                           "map of this layer: one scale per layer.",
        },
        "peaks": {"type": "array", "items": {"type": "number"},
                  "description": "Each map's largest value."},
        "maps": {
            "type": "array",
            "items": _DATA_URL,
            "description": "One grayscale PNG per channel, on the layer's scale. Computed "
                           "with a margin of blank paper around the input and cropped, so "
                           "the zero padding at the border does not light the frame up.",
        },
    },
}

_DIGIT_PROBABILITIES = {
    "type": "array", "items": _PROBABILITY, "minItems": 10, "maxItems": 10,
    "description": "P(digit = i) for i = 0..9. With a model that can say 'not a digit' they "
                   "sum to 1 - not_digit_probability.",
}
_GUESS = {
    "type": "object",
    "required": ["digit", "confidence"],
    "properties": {"digit": {"type": "integer", "minimum": 0, "maximum": 9},
                   "confidence": _PROBABILITY},
    "description": "The most likely digit of a mark that is not a digit, and its probability.",
}
_MARK = {
    "type": "object",
    "required": ["status", "digit", "confidence", "probabilities", "not_digit_probability",
                 "box", "input_image"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "not_a_digit"]},
        "digit": {"type": ["integer", "null"], "minimum": 0, "maximum": 9,
                  "description": "Null when the mark is not a digit."},
        "confidence": {"anyOf": [_PROBABILITY, {"type": "null"}]},
        "probabilities": _DIGIT_PROBABILITIES,
        "not_digit_probability": _PROBABILITY,
        "guess": _GUESS,
        "box": {"type": "array", "items": {"type": "integer", "minimum": 0},
                "minItems": 4, "maxItems": 4,
                "description": "[x0, y0, x1, y1], end-exclusive, in the uploaded image's pixels "
                               "(after its EXIF rotation)."},
        "input_image": {**_DATA_URL, "description": "The 28x28 PNG the network saw."},
        "frame": {
            "type": "object",
            "required": ["scale", "x0", "y0"],
            "properties": {"scale": {"type": "number", "exclusiveMinimum": 0},
                           "x0": {"type": "number"}, "y0": {"type": "number"}},
            "description": "Where the 28x28 lies over the uploaded image: its pixel column u "
                           "starts at x0 + u / scale, row v at y0 + v / scale (so a heatmap "
                           "of the 28x28 can be drawn over the upload).",
        },
        "explanation": {"$ref": "#/components/schemas/Explanation"},
    },
}

_HEATMAP = {
    "type": "object",
    "required": ["png", "values"],
    "properties": {
        "png": {**_DATA_URL, "description": "An RGBA PNG to lay over the 28x28: red where "
                                            "the pixel pushed towards the digit, blue against."},
        "values": {"type": "array", "minItems": 28, "maxItems": 28,
                   "items": {"type": "array", "items": {"type": "number"}, "minItems": 28,
                             "maxItems": 28}},
    },
}
_EXPLANATION = {
    "type": "object",
    "required": ["target", "integrated_gradients", "occlusion"],
    "description": "Only with ?explain=1: why the network reads the mark as `target`.",
    "properties": {
        "target": {"type": "integer", "minimum": 0, "maximum": 9,
                   "description": "The digit explained: the one read, or the best guess."},
        "integrated_gradients": {**_HEATMAP, "description": (
            "Each pixel's share of the digit's log-probability gained from a blank image "
            "(the network's own gradients, integrated along the way); the shares add up "
            "to about that gain.")},
        "occlusion": {**_HEATMAP, "description": (
            "How much the digit's probability drops when an 8x8 square around the pixel is "
            "blanked out (no gradients: the network is only asked again).")},
    },
}

_PREDICTION = {
    "type": "object",
    "required": ["status", "number", "digits", "digit", "confidence", "probabilities",
                 "not_digit_probability", "input_image", "message", "model", "time_ms"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "not_a_digit", "no_digit"],
                   "description": "ok: at least one digit was read; not_a_digit: there are "
                                  "marks but none is a digit; no_digit: the image is blank or "
                                  "nearly blank (no guess)."},
        "number": {"type": "string", "pattern": "^[0-9]*$",
                   "description": "The digits read, left to right (lines top to bottom); "
                                  "marks that are not digits are left out. Empty when none."},
        "digits": {"type": "array", "items": {"$ref": "#/components/schemas/Mark"},
                   "maxItems": 12,
                   "description": "Every mark read, left to right: digits and marks that "
                                  "are not digits, each with its box and 28x28 image."},
        "digit": {"type": ["integer", "null"], "minimum": 0, "maximum": 9,
                  "description": "The digit, when exactly one was read; else null."},
        "confidence": {"anyOf": [_PROBABILITY, {"type": "null"}]},
        "probabilities": {
            "anyOf": [_DIGIT_PROBABILITIES, {"type": "null"}],
            "description": "As in digits[], for the one digit read (or the one mark, when it "
                           "is not a digit); null when there are none or several.",
        },
        "not_digit_probability": {"anyOf": [_PROBABILITY, {"type": "null"}]},
        "guess": _GUESS,
        "input_image": {
            "anyOf": [_DATA_URL, {"type": "null"}],
            "description": "The 28x28 grayscale PNG the network saw, white digit on black "
                           "(all black when status is no_digit; null when several marks).",
        },
        "message": {"type": "string"},
        "model": {
            "type": "object",
            "required": ["name", "version"],
            "properties": {"name": {"type": "string"}, "version": {"type": "string"}},
        },
        "time_ms": {"type": "number", "minimum": 0,
                    "description": "Server time to decode, preprocess and predict."},
        "feature_maps": {"type": "array", "items": _FEATURE_MAP,
                         "description": "Only with ?explain=1: one entry per conv layer, for "
                                        "the single mark read (else the first)."},
    },
}

_CHECK = {"type": "string", "enum": ["ok", "failing", "unavailable"]}
_READINESS = {
    "type": "object",
    "required": ["status", "checks", "database"],
    "properties": {
        "status": {"type": "string", "enum": ["ready", "not_ready"]},
        "checks": {
            "type": "object",
            "required": ["model", "database"],
            "properties": {"model": _CHECK, "database": _CHECK},
            "description": "Each check: ok, or why not (details are in the server's log).",
        },
        "database": {"type": "string", "enum": ["postgresql", "sqlite"],
                     "description": "Where corrections are kept."},
        "error": {**_ERROR["properties"]["error"],
                  "description": "Only when not ready: code not_ready, naming the failing "
                                 "checks."},
    },
}

_MODEL = {
    "type": "object",
    "required": ["name", "version", "architecture", "input_shape", "parameters",
                 "test_accuracy", "sha256"],
    "properties": {
        "name": {"type": "string"},
        "version": {"type": "string",
                    "description": 'The file\'s meta "version", else "sha256:" + 12 hex digits.'},
        "architecture": {
            "type": "array",
            "items": {"type": "object", "required": ["type"],
                      "properties": {"type": {"type": "string"}}},
            "description": "Layer specs, e.g. {type: conv2d, filters: 8, kernel: 5, ...}.",
        },
        "input_shape": {"type": "array", "items": {"type": "integer"},
                        "minItems": 3, "maxItems": 3},
        "parameters": {"type": "integer", "minimum": 0},
        "test_accuracy": {"anyOf": [_PROBABILITY, {"type": "null"}]},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "layers": {"type": "array", "items": {"type": "string"}},
    },
}


_MODEL_SUMMARY = {
    "type": "object",
    "required": ["name", "version", "parameters", "test_accuracy"],
    "properties": {
        "name": {"type": "string"},
        "version": {"type": "string"},
        "parameters": {"type": "integer", "minimum": 0},
        "test_accuracy": {"anyOf": [_PROBABILITY, {"type": "null"}]},
    },
}

_MODEL_LIST = {
    "type": "object",
    "required": ["default", "models"],
    "properties": {
        "default": {"type": "string", "description": "The model used without ?model=."},
        "models": {"type": "array", "items": _MODEL_SUMMARY, "minItems": 1},
    },
}

_NULLABLE_NUMBER = {"type": ["number", "null"]}
_NULLABLE_COUNT = {"type": ["integer", "null"], "minimum": 0}

_REPORT = {
    "type": "object",
    "required": ["name", "evaluated", "test_accuracy", "test_images", "test_errors", "epochs",
                 "best_epoch", "train_wall_time_s", "history", "classes", "confusion_matrix",
                 "per_class", "misread"],
    "properties": {
        "name": {"type": "string"},
        "evaluated": {"type": "boolean",
                      "description": "False when the model has no metrics file: then the "
                                     "lists are empty and the figures null."},
        "test_accuracy": {"anyOf": [_PROBABILITY, {"type": "null"}]},
        "test_images": _NULLABLE_COUNT,
        "test_errors": _NULLABLE_COUNT,
        "epochs": _NULLABLE_COUNT,
        "best_epoch": _NULLABLE_COUNT,
        "train_wall_time_s": _NULLABLE_NUMBER,
        "history": {"type": "array", "description": "One entry per training epoch.",
                    "items": {"type": "object",
                              "required": ["epoch", "train_loss", "val_loss", "val_accuracy"],
                              "properties": {k: _NULLABLE_NUMBER for k in
                                             ("epoch", "train_loss", "val_loss",
                                              "val_accuracy")}}},
        "classes": {"type": "array", "items": {"type": "string"},
                    "description": "The labels of the confusion matrix's rows and columns."},
        "confusion_matrix": {"type": "array",
                             "items": {"type": "array", "items": {"type": "integer"}},
                             "description": "Row: the true label; column: the prediction; on "
                                            "the MNIST test set."},
        "per_class": {"type": "array", "items": {
            "type": "object", "required": ["digit", "precision", "recall", "support"],
            "properties": {"digit": {"type": "integer"}, "precision": _NULLABLE_NUMBER,
                           "recall": _NULLABLE_NUMBER, "support": _NULLABLE_COUNT}}},
        "misread": {"type": "array", "description": (
            "MNIST test digits the model gets wrong: index in the test set, true label, "
            "prediction and its confidence. Their images are in "
            "/static/examples/mnist-test-digits.json."),
            "items": {"type": "object",
                      "required": ["index", "label", "predicted", "confidence"],
                      "properties": {"index": {"type": "integer", "minimum": 0},
                                     "label": {"type": "integer"},
                                     "predicted": {"type": "integer"},
                                     "confidence": _NULLABLE_NUMBER}}},
    },
}

_KERNELS = {
    "type": "object",
    "required": ["layer", "index", "filters", "channels", "height", "width", "scale",
                 "weights"],
    "properties": {
        "layer": {"type": "string"},
        "index": {"type": "integer", "minimum": 0},
        "filters": {"type": "integer", "minimum": 1},
        "channels": {"type": "integer", "minimum": 1},
        "height": {"type": "integer", "minimum": 1},
        "width": {"type": "integer", "minimum": 1},
        "scale": {"type": "number", "minimum": 0,
                  "description": "The largest absolute weight: one scale for every kernel."},
        "weights": {"type": "array", "description": "[filter][channel][row][column].",
                    "items": {"type": "array", "items": {"type": "array", "items": {
                        "type": "array", "items": {"type": "number"}}}}},
    },
}


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _get_json(operation_id: str, summary: str, answer: str, schema: str) -> dict[str, Any]:
    """A GET answering 200 with a JSON document of the named component schema."""
    return {"get": {"operationId": operation_id, "summary": summary, "responses": {
        "200": _json_response(answer, {"$ref": f"#/components/schemas/{schema}"})}}}


_PREDICT_ERRORS = {
    "400": _error_response(
        "Bad request: empty body, invalid JSON, no image field, invalid base64 or data URL, "
        "or an invalid explain or model value."),
    "413": _error_response(
        "Too large: the body is over the size limit (2 MiB by default), or the image is over "
        f"{MAX_SIDE} pixels a side, or too large to decode in memory (code image_too_large)."),
    "415": _error_response(
        "Unsupported media type: a Content-Type other than JSON, a form or an image type, "
        "or an image format other than PNG, JPEG, GIF, BMP and WebP."),
    "422": _error_response(
        "Not a usable image: not an image at all (not_an_image), corrupt (corrupt_image), "
        "truncated (truncated_image), a decompression bomb (decompression_bomb), or more "
        "than 12 digits in one image (too_many_digits)."),
}

_IMAGE_BINARY = {"schema": {"type": "string", "format": "binary", "minLength": 1}}
#: Canonical base64 of at least one byte, optionally as a data URL with an image type.
_BASE64_IMAGE = (
    "^(data:image/(png|jpeg|gif|bmp|webp);base64,)?"
    "([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)$"
)

_DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "NumPy CNN digits",
        "version": "2.0.0",
        "description": (
            "Draw a digit, watch a CNN read it. POST an image of handwritten digits to "
            "/predict; the ink is found, split into digits, each preprocessed as MNIST was "
            "(crop to the ink, longer side to 20 px, centre of mass at the centre of 28x28) and "
            "read by a convolutional network written in NumPy, which can also say that a mark "
            "is not a digit. Every error is JSON: {error: {code, message}}."
        ),
    },
    "paths": {
        "/predict": {
            "post": {
                "operationId": "predict",
                "summary": "Read the handwritten digits in an image",
                "description": (
                    "The image may be a canvas with a transparent background and dark strokes, "
                    "white strokes on black, dark ink on light paper, a scan or a photo (the "
                    "polarity and background are read from the image). Every digit is read, "
                    "left to right: `number` holds them as a string and `digits` each one "
                    "with its box. A single digit also answers in `digit`, `confidence` and "
                    "`probabilities`. Marks that are not digits (letters, symbols, doodles) "
                    "are reported as such (status not_a_digit when no digit is read); a blank "
                    "image gets status no_digit. At most 12 digits are read in one image."
                ),
                "parameters": [{
                    "name": "explain",
                    "in": "query",
                    "required": False,
                    "description": "1 adds each convolution layer's feature maps (for the "
                                   "single mark, else the first) and, for every mark, an "
                                   "explanation: saliency maps of why it reads as it does.",
                    "schema": {"type": "string", "enum": ["0", "1", "true", "false"]},
                }],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {
                            "type": "object",
                            "required": ["image"],
                            "properties": {"image": {
                                "type": "string",
                                "pattern": _BASE64_IMAGE,
                                "description": (
                                    "A data URL (data:image/png;base64,..., as a canvas's "
                                    "toDataURL gives) or bare base64 of the image file. "
                                    "URL-safe base64, missing padding and line breaks are "
                                    "accepted too."
                                ),
                            }},
                        }},
                        "multipart/form-data": {"schema": {
                            "type": "object",
                            "required": ["image"],
                            "properties": {"image": {
                                "type": "string", "format": "binary", "minLength": 1,
                                "description": "The image file (a text field holding a "
                                               "data URL or base64 is accepted too).",
                            }},
                        }},
                        "application/x-www-form-urlencoded": {"schema": {
                            "type": "object",
                            "required": ["image"],
                            "properties": {"image": {"type": "string", "pattern": _BASE64_IMAGE,
                                                     "description": "As in the JSON body."}},
                        }},
                        **{media: _IMAGE_BINARY for media in sorted(RAW_TYPES)
                           if media in ("image/png", "image/jpeg", "image/gif", "image/bmp",
                                        "image/webp", "application/octet-stream")},
                    },
                },
                "responses": {
                    "200": _json_response("The prediction, or status no_digit.",
                                          {"$ref": "#/components/schemas/Prediction"}),
                    **_PREDICT_ERRORS,
                },
            }
        },
        "/api/model": _get_json(
            "model", "A served model: architecture, size, accuracy and file hash",
            "The model.", "Model"),
        "/api/models": _get_json(
            "models", "Every model this server offers, and which one is the default",
            "The models.", "ModelList"),
        "/api/report": _get_json(
            "report", "A model's report card: training curves, confusion matrix on the MNIST "
            "test set, per-class figures and the misread test digits",
            "The report card.", "Report"),
        "/api/kernels": _get_json(
            "kernels", "A model's first convolution layer: its learned kernels as numbers",
            "The kernels.", "Kernels"),
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "Liveness: the process answers (touches neither model nor database)",
                "description": "For a liveness probe: restart the replica when this fails. "
                               "A database outage never makes it fail.",
                "responses": {"200": _json_response("Alive.", {
                    "type": "object", "required": ["status"],
                    "properties": {"status": {"const": "ok"}},
                })},
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "Readiness: the model answers and the corrections store is reachable",
                "description": (
                    "For a readiness probe: send this replica traffic only while it answers "
                    "200. Checks that the model computes a prediction and that the "
                    "corrections store answers: with DATABASE_URL a real round trip to "
                    "PostgreSQL (bringing its schema up to date on first use), else that the "
                    "SQLite file opens. Answers within the database timeout (2 s by "
                    "default), at once while the database is known to be down."
                ),
                "responses": {
                    "200": _json_response("Ready.", {"$ref": "#/components/schemas/Readiness"}),
                    "503": _json_response("Not ready: a check failed (error says which).",
                                          {"$ref": "#/components/schemas/Readiness"}),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": _json_response("The OpenAPI document.", {"type": "object"})},
            }
        },
    },
    "components": {
        "schemas": {
            "Prediction": _PREDICTION,
            "Mark": _MARK,
            "Explanation": _EXPLANATION,
            "FeatureMap": _FEATURE_MAP,
            "Model": _MODEL,
            "ModelList": _MODEL_LIST,
            "Report": _REPORT,
            "Kernels": _KERNELS,
            "Readiness": _READINESS,
            "Error": _ERROR,
        }
    },
}


#: The operations that take ?model=NAME.
_MODEL_OPERATIONS = (("/predict", "post"), ("/api/model", "get"), ("/api/report", "get"),
                     ("/api/kernels", "get"))


def openapi_document(model_names: list[str]) -> dict[str, Any]:
    """A fresh copy of the OpenAPI document, for a server offering ``model_names`` (the
    default first)."""
    document = deepcopy(_DOCUMENT)
    for path, method in _MODEL_OPERATIONS:
        operation = document["paths"][path][method]
        operation.setdefault("parameters", []).append({
            "name": "model",
            "in": "query",
            "required": False,
            "description": f"The model to use, by name (GET /api/models lists them); "
                           f"default: {model_names[0]}.",
            "schema": {"type": "string", "enum": list(model_names)},
        })
        responses = operation["responses"]
        responses.setdefault("400", _error_response(
            "Bad request: the model parameter is given twice or empty (invalid_parameter)."))
        responses["404"] = _error_response("No model of that name (unknown_model).")
    return document
