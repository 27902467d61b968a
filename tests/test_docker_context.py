"""The Docker image holds what the server imports and nothing of the trainer.

Read from the files themselves: the import closure of the server's entry points (every
``import`` in every module it reaches, function bodies included), the ``.dockerignore``
rules that decide what reaches the image, and the runtime lock the Dockerfile installs.
Catches a server module that starts importing a file (or a package) the image leaves out.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.metadata
import re
import sys
from pathlib import Path

from scripts.locks import normalize, read_lock

ROOT = Path(__file__).resolve().parent.parent
ENTRY_POINTS = ("gunicorn.conf.py", "app/wsgi.py")
TRAINING_ONLY = ("model/train.py", "model/mnist.py", "model/augment.py", "model/evaluate.py",
                 "model/training_data.py", "model/negatives.py", "model/calibration.py")


def module_file(name: str) -> Path | None:
    path = ROOT.joinpath(*name.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def import_closure() -> tuple[set[str], set[str]]:
    """(project files the entry points reach, top-level third-party modules they import)."""
    files: set[str] = set()
    external: set[str] = set()
    todo = [ROOT / entry for entry in ENTRY_POINTS]
    while todo:
        path = todo.pop()
        relative = path.relative_to(ROOT).as_posix()
        if relative in files:
            continue
        files.add(relative)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if module_file(parts[0]) is None:
                    external.add(parts[0])
                    continue
                found = (module_file(".".join(parts[:i])) for i in range(1, len(parts) + 1))
                todo.extend(f for f in found if f is not None)
    return files, external - set(sys.stdlib_module_names) - {"__future__"}


def dockerignore_keeps(path: str) -> bool:
    """Whether .dockerignore lets ``path`` into the build context (the last match decides;
    a pattern that matches a folder matches everything in it)."""
    keep = True
    parts = path.split("/")
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pattern = line.removeprefix("!").strip("/")
        prefixes = ("/".join(parts[:i]) for i in range(1, len(parts) + 1))
        if any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes):
            keep = line.startswith("!")
    return keep


def test_the_image_holds_every_file_the_server_imports():
    files, _ = import_closure()
    assert {"app/factory.py", "model/params_io.py", "model/network.py"} <= files
    missing = sorted(f for f in files if not dockerignore_keeps(f))
    assert missing == [], f"the server imports these, but .dockerignore leaves them out: {missing}"


def test_the_trainer_stays_out_of_the_image():
    files, _ = import_closure()
    for path in TRAINING_ONLY:
        assert path not in files, f"the server now imports {path}"
        assert not dockerignore_keeps(path), f"{path} would be copied into the image"
    assert not dockerignore_keeps("params/default.curves.png")
    assert dockerignore_keeps("params/default.pkl")
    assert dockerignore_keeps("params/default.metrics.json")  # the served test accuracy


def test_every_package_the_server_imports_is_in_the_runtime_lock():
    _, external = import_closure()
    distributions = importlib.metadata.packages_distributions()
    locked = set(read_lock(ROOT / "requirements.lock"))
    for module in sorted(external):
        names = {normalize(d) for d in distributions.get(module, [])}
        assert names & locked, f"the server imports {module}, which requirements.lock lacks"
    assert {"numpy", "flask", "PIL"} <= external


def test_the_dockerfile_installs_the_lock_on_a_pinned_base():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim-\w+$", dockerfile, re.M)
    assert "FROM ${PYTHON_IMAGE}" in dockerfile
    assert "--require-hashes" in dockerfile and "-r /tmp/requirements.lock" in dockerfile
    assert dockerignore_keeps("requirements.lock")
    assert not dockerignore_keeps("requirements-dev.lock")
    assert not dockerignore_keeps("tests/test_api.py") and not dockerignore_keeps(".venv/x")
