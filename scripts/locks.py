#!/usr/bin/env python3
"""Is each dependency lock still the resolution of its hand-edited input?

``requirements.txt`` (what the server needs) and ``requirements-dev.txt`` (tests, training,
tools) are edited by hand; ``make lock`` resolves each into a ``.lock`` file with every
transitive dependency pinned and hashed (``uv pip compile --generate-hashes``), and ``make``
and the Dockerfile install only the locks (``pip install --require-hashes``). A lock goes stale
when its input changes and ``make lock`` is not run: this script (and ``tests/test_locks.py``)
says so. Standard library only. ``python3 scripts/locks.py`` exits 1 and prints what is stale.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: (hand-edited input, generated lock)
PAIRS = (
    ("requirements.txt", "requirements.lock"),
    ("requirements-dev.txt", "requirements-dev.lock"),
)
_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;#]*)")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def normalize(name: str) -> str:
    """PEP 503: case and runs of -_. do not matter in a package name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Entry:
    """One package in a lock: its version, hashes, and what pulled it in ("# via")."""

    version: str
    hashes: int = 0
    via: set[str] = field(default_factory=set)


def read_input(path: Path) -> tuple[dict[str, str], set[str]]:
    """({package: version specifier, "" when none}, input files read), following ``-r``."""
    requirements: dict[str, str] = {}
    files = {path.name}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            included, more = read_input(path.parent / line.split(None, 1)[1])
            requirements.update(included)
            files |= more
        elif not line.startswith("-"):
            match = _REQUIREMENT.match(line)
            if match:
                requirements[normalize(match.group(1))] = match.group(2).strip()
    return requirements, files


def read_lock(path: Path) -> dict[str, Entry]:
    """The packages of a lock written by ``uv pip compile`` (or pip-compile)."""
    entries: dict[str, Entry] = {}
    current: Entry | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        pin = _PIN.match(raw)
        if pin:
            current = entries[normalize(pin.group(1))] = Entry(pin.group(2))
        elif current is not None and line.startswith("--hash="):
            current.hashes += 1
        elif current is not None and line.startswith("#"):
            text = line.lstrip("#").strip()
            text = text.removeprefix("via").strip()
            if text:
                current.via.add(text)
    return entries


def problems(root: Path = ROOT) -> list[str]:
    """Every way the locks disagree with their inputs or each other (empty: all good)."""
    found: list[str] = []
    for input_name, lock_name in PAIRS:
        if not (root / lock_name).is_file():
            found.append(f"{lock_name} is missing")
            continue
        wanted, inputs = read_input(root / input_name)
        lock = read_lock(root / lock_name)
        for name, spec in wanted.items():
            entry = lock.get(name)
            if entry is None:
                found.append(f"{name} is in {input_name} but not in {lock_name}")
            elif spec.startswith("==") and spec[2:].strip() != entry.version:
                found.append(f"{input_name} wants {name}{spec}, {lock_name} has {entry.version}")
        direct = {name for name, entry in lock.items() if {f"-r {f}" for f in inputs} & entry.via}
        for name in sorted(direct - set(wanted)):
            found.append(f"{name} is no longer in {input_name} but still in {lock_name}")
        found += [f"{lock_name}: {name} has no hash" for name, e in lock.items() if not e.hashes]
    runtime, dev = (root / PAIRS[0][1], root / PAIRS[1][1])
    if runtime.is_file() and dev.is_file():
        dev_lock = read_lock(dev)
        for name, entry in read_lock(runtime).items():
            other = dev_lock.get(name)
            if other is None or other.version != entry.version:
                found.append(f"{dev.name} must hold {name}=={entry.version} as {runtime.name} does")
    return found


def main() -> int:
    found = problems()
    for problem in found:
        print(f"stale lock: {problem}", file=sys.stderr)
    if found:
        print("run `make lock` to resolve the locks again, and commit them", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
