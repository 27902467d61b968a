"""JSON errors: the :class:`ApiError` the routes raise and the handlers that render every error.

Every error, including Werkzeug's own (404, 405, 413...) and anything unexpected, is answered
as ``{"error": {"code": "snake_case_code", "message": "human sentence"}}`` — never an HTML page.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from app.reading.errors import ImageError

log = logging.getLogger(__name__)

#: Werkzeug's HTTP errors -> our codes and messages.
_HTTP_ERRORS = {
    400: ("bad_request", "The request could not be understood."),
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", "This address does not accept that HTTP method."),
    413: (
        "payload_too_large",
        "The request body is larger than the limit of {limit} bytes.",
    ),
    415: ("unsupported_media_type", "The request's content type is not supported."),
}


class ApiError(Exception):
    """An error the client caused, answered with ``status`` and a JSON body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    """Install the handlers that turn every error into the JSON shape above."""

    @app.errorhandler(ApiError)
    @app.errorhandler(ImageError)
    def _client_error(exc: ApiError | ImageError) -> Response:
        return error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code, message = _HTTP_ERRORS.get(
            status, (_snake(exc.name), exc.description or exc.name)
        )
        if status == 413:
            message = message.format(limit=app.config.get("MAX_CONTENT_LENGTH"))
        response = error_response(status, code, message)
        allowed = getattr(exc, "valid_methods", None)  # MethodNotAllowed says what is
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "The server failed to handle the request.")


def _snake(name: str) -> str:
    return "_".join(name.lower().replace("-", " ").split())
