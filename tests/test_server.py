"""The real server: gunicorn with gunicorn.conf.py, started as the Dockerfile starts it."""

from __future__ import annotations

import json
import os
import re
import runpy
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from app.blas import THREAD_VARIABLES
from app.cpus import available_cpus

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "gunicorn.conf.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn(port: int, **env: str) -> subprocess.Popen:
    """gunicorn as deployed; the BLAS variables are left out so the config must set them."""
    environment = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    environment.update(WEB_CONCURRENCY="1", **env)
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(CONFIG), "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_config_defaults(monkeypatch):
    for name in ("BIND", "WEB_CONCURRENCY", "GUNICORN_TIMEOUT", "ACCESS_LOG",
                 *THREAD_VARIABLES):
        monkeypatch.setenv(name, "")  # so that monkeypatch restores it afterwards,
        monkeypatch.delenv(name)  # including what the config file sets
    settings = runpy.run_path(str(CONFIG))
    assert settings["bind"] == "127.0.0.1:8000"
    assert settings["workers"] == min(8, available_cpus())
    assert settings["wsgi_app"] == "app.wsgi:app"
    assert settings["timeout"] > 0 and settings["accesslog"] == "-"
    assert settings["preload_app"] is False  # the model loads in each worker
    assert os.environ["OPENBLAS_NUM_THREADS"] == os.environ["OMP_NUM_THREADS"] == "1"


@pytest.mark.parametrize(("cpus", "workers"), [(1, 1), (3, 3), (32, 8)])
def test_workers_follow_the_cpus_the_process_may_use(monkeypatch, cpus, workers):
    """gunicorn.conf.py sizes the pool from app.cpus (a container's quota), not the host."""
    monkeypatch.setenv("WEB_CONCURRENCY", "")
    monkeypatch.setattr("app.cpus.available_cpus", lambda: cpus)
    assert runpy.run_path(str(CONFIG))["workers"] == workers
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    assert runpy.run_path(str(CONFIG))["workers"] == 5


def test_refused_params_file_stops_startup(tmp_path):
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"not a pickle")
    process = gunicorn(free_port(), DIGITS_PARAMS=str(bad))
    try:
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode != 0
    assert "cannot start: the model parameter file was not loaded" in output
    assert str(bad) in output


def test_serves_over_http():
    port = free_port()
    process = gunicorn(port)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    assert json.load(response) == {"status": "ok"}
                    break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("gunicorn did not start")
                time.sleep(0.2)
        request = urllib.request.Request(f"{base}/predict", data=b"junk", method="POST",
                                         headers={"Content-Type": "image/png"})
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(request, timeout=10)
        assert error.value.code == 422
        assert json.load(error.value)["error"]["code"] == "not_an_image"
        with urllib.request.urlopen(f"{base}/api/model", timeout=10) as response:
            assert "sha256" in json.load(response)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert '"GET /healthz HTTP/1.1" 200' in output  # the access log
    threads = re.search(r"worker \d+ ready: model \S+, OpenBLAS threads (\w+)\n", output)
    assert threads, output
    assert threads.group(1) == ("1" if numpy_uses_openblas() else "None")


def numpy_uses_openblas() -> bool:
    """Whether this NumPy was built against OpenBLAS (as the PyPI wheels are), from its own
    build record rather than from the code under test."""
    import numpy as np

    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return blas.get("found", False) and "openblas" in blas.get("name", "").lower()


def test_openblas_threads_reads_the_loaded_library():
    """In this process NumPy is loaded: where it uses OpenBLAS, the count must be readable."""
    import numpy  # noqa: F401 (loads OpenBLAS)

    from app.blas import openblas_threads

    threads = openblas_threads()
    if numpy_uses_openblas():
        assert isinstance(threads, int) and threads >= 1, threads
    else:
        assert threads is None
