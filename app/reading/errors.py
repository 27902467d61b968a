"""The one error the reading pipeline raises: an image it cannot or will not read.

It carries an HTTP-style status (413 too large, 415 unsupported format, 422 corrupt...) and
a snake_case code, so the web layer can answer it as JSON without knowing the details, and a
command line can print its message. Nothing here imports Flask.
"""

from __future__ import annotations


class ImageError(Exception):
    """The image was refused: ``status`` (a 4xx number), ``code`` and a readable ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
