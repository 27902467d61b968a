"""The service as deployed, plus one route for tests/test_graceful_shutdown.py.

``GET /test/slow`` touches the file ``$SLOW_MARKER`` (so the test knows the request is in
flight), sleeps ``$SLOW_SECONDS`` and answers 200. Served by gunicorn with the project's
gunicorn.conf.py: ``gunicorn -c gunicorn.conf.py tests.slow_app:app``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from flask import jsonify

from app.wsgi import app


@app.get("/test/slow")
def slow():
    Path(os.environ["SLOW_MARKER"]).touch()
    time.sleep(float(os.environ.get("SLOW_SECONDS", "3")))
    return jsonify({"status": "finished"})
