"""The dependency locks match their hand-edited inputs (scripts/locks.py), so editing
requirements*.txt without running `make lock` fails here, saying what to do."""

from __future__ import annotations

import shutil

import pytest

from scripts.locks import PAIRS, ROOT, problems, read_input, read_lock


def test_the_committed_locks_are_current():
    assert problems() == [], "run `make lock` and commit requirements*.lock"


@pytest.mark.parametrize(("input_name", "lock_name"), PAIRS)
def test_every_locked_package_is_pinned_and_hashed(input_name, lock_name):
    lock = read_lock(ROOT / lock_name)
    wanted, _ = read_input(ROOT / input_name)
    assert set(wanted) <= set(lock)
    assert all(entry.hashes >= 1 for entry in lock.values())
    assert len(lock) > len(wanted)  # the transitive dependencies are there too


def test_the_server_lock_leaves_out_training_and_test_tools():
    runtime = read_lock(ROOT / "requirements.lock")
    assert not {"tqdm", "matplotlib", "pytest", "playwright", "uv"} & set(runtime)


@pytest.fixture
def copy(tmp_path):
    for name in (n for pair in PAIRS for n in pair):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_a_new_requirement_makes_the_lock_stale(copy):
    with open(copy / "requirements.txt", "a") as fh:
        fh.write("redis[hiredis]==5.0.8 ; python_version >= '3.11'\n")  # in neither lock
    assert problems(copy) == [
        "redis is in requirements.txt but not in requirements.lock",
        "redis is in requirements-dev.txt but not in requirements-dev.lock",
    ]


def test_a_changed_or_removed_pin_makes_the_lock_stale(copy):
    text = (copy / "requirements.txt").read_text()
    (copy / "requirements.txt").write_text(
        text.replace("flask==3.1.3", "flask==3.0.0").replace("gunicorn==27.0.1\n", "")
    )
    found = problems(copy)
    assert "requirements.txt wants flask==3.0.0, requirements.lock has 3.1.3" in found
    assert "gunicorn is no longer in requirements.txt but still in requirements.lock" in found


def test_runtime_and_dev_locks_must_agree(copy):
    lock = (copy / "requirements-dev.lock").read_text()
    (copy / "requirements-dev.lock").write_text(lock.replace("\nclick==8.5.1 ", "\nclick==8.1.0 "))
    assert "requirements-dev.lock must hold click==8.5.1 as requirements.lock does" in problems(
        copy
    )


def test_an_unhashed_entry_is_refused(copy):
    with open(copy / "requirements.lock", "a") as fh:
        fh.write("six==1.17.0\n    # via flask\n")
    assert "requirements.lock: six has no hash" in problems(copy)
