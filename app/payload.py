"""Getting the image bytes out of a POST /predict request, in any of its three forms.

1. JSON ``{"image": "data:image/png;base64,..."}`` (or bare base64);
2. ``multipart/form-data`` with a file field ``image`` (a text field holding a data URL or
   base64 works too, as does an urlencoded form with that field);
3. a raw body whose Content-Type is an image type (or ``application/octet-stream``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge

from app.errors import ApiError

#: Content types accepted for a raw body; the bytes themselves decide the format.
RAW_TYPES = frozenset({
    "image/png", "image/apng", "image/jpeg", "image/jpg", "image/pjpeg", "image/gif",
    "image/bmp", "image/x-bmp", "image/x-ms-bmp", "image/webp", "application/octet-stream",
})
FIELD = "image"
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/=\-_]")


def image_bytes(request: Request) -> bytes:
    """The uploaded image's bytes; raises :class:`ApiError` (400/413/415) otherwise."""
    mimetype = request.mimetype
    if mimetype == "application/json" or mimetype.endswith("+json"):
        return _from_json(request)
    if mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return _from_form(request)
    if mimetype in RAW_TYPES:
        data = read_body(request)
        if not data:
            raise ApiError(400, "empty_body", "The request body is empty: send an image.")
        return data
    if not mimetype and not request.content_length and not read_body(request):
        raise ApiError(400, "empty_body", "The request body is empty: send an image.")
    raise ApiError(
        415, "unsupported_media_type",
        f"Content-Type {mimetype or '(none)'!s} is not accepted: send JSON "
        '{"image": "data:image/png;base64,..."}, a multipart form with an "image" file, '
        "or the image itself as image/png, image/jpeg, image/gif, image/bmp or image/webp.",
    )


def read_body(request: Request) -> bytes:
    """The whole body; 413 when it is over MAX_CONTENT_LENGTH, chunked bodies included.

    (Werkzeug stops reading a chunked body at the limit without saying so, which would
    hand the decoder a silently truncated file.)
    """
    data = request.get_data(cache=False)
    limit = request.max_content_length
    chunked = request.content_length is None
    at_limit = limit is not None and chunked and len(data) >= limit
    if at_limit and request.environ["wsgi.input"].read(1):  # is anything left unread?
        raise RequestEntityTooLarge()
    return data


def json_document(request: Request, empty_message: str) -> Any:
    """The parsed JSON body (at most MAX_CONTENT_LENGTH bytes; deeply nested documents are
    refused like any other invalid JSON); raises :class:`ApiError` 400 otherwise."""
    raw = read_body(request)
    if not raw.strip():
        raise ApiError(400, "empty_body", empty_message)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from exc


def _from_json(request: Request) -> bytes:
    document = json_document(request, "The request body is empty: send an image.")
    if not isinstance(document, dict) or FIELD not in document:
        raise ApiError(
            400, "missing_image",
            'The JSON body must be an object with an "image" field holding a data URL '
            "or base64 string.",
        )
    value = document[FIELD]
    if not isinstance(value, str):
        raise ApiError(400, "invalid_image_field", 'The "image" field must be a string.')
    return decode_base64_image(value)


def _from_form(request: Request) -> bytes:
    upload = request.files.get(FIELD)
    if upload is not None:
        data = upload.read()
        if not data:
            raise ApiError(400, "empty_image", 'The uploaded "image" file is empty.')
        return data
    text = request.form.get(FIELD)
    if text is not None:
        return decode_base64_image(text)
    raise ApiError(400, "missing_image", 'The form has no "image" field: attach the image file.')


def decode_base64_image(text: str) -> bytes:
    """A data URL ("data:image/png;base64,...") or bare base64 (standard or URL-safe) -> bytes."""
    text = text.strip()
    if not text:
        raise ApiError(400, "empty_image", 'The "image" field is empty.')
    if text[:5].lower() == "data:":
        header, comma, text = text.partition(",")
        if not comma:
            raise ApiError(400, "invalid_data_url", "The data URL has no comma before its data.")
        params = [part.strip().lower() for part in header[5:].split(";")]
        if "base64" not in params[1:]:
            raise ApiError(400, "invalid_data_url", "The data URL must be base64-encoded.")
        if params[0] and not params[0].startswith("image/") and params[0] not in RAW_TYPES:
            raise ApiError(
                415, "unsupported_media_type",
                f"The data URL's media type {params[0]} is not an image type.",
            )
    # line breaks are dropped; a space is a "+" that form encoding turned into a space
    compact = "".join(text.replace(" ", "+").split())
    if not compact or _NOT_BASE64.search(compact):
        raise ApiError(400, "invalid_base64", "The image is not valid base64.")
    compact = compact.rstrip("=")
    if "=" in compact or len(compact) % 4 == 1:
        raise ApiError(400, "invalid_base64", "The image is not valid base64 (wrong length).")
    try:
        data = base64.urlsafe_b64decode(
            compact.replace("+", "-").replace("/", "_") + "=" * (-len(compact) % 4)
        )
    except (binascii.Error, ValueError) as exc:
        raise ApiError(400, "invalid_base64", "The image is not valid base64.") from exc
    if not data:
        raise ApiError(400, "empty_image", "The image is empty (0 bytes).")
    return data
