"""``python -m app.feedback``: the corrections store from the command line.

    python -m app.feedback export corrections.npz   # arrays for model.train --extra-data
    python -m app.feedback stats                     # how many, by label and model version
    python -m app.feedback migrate                   # create or upgrade the schema now

The store is the service's (``DATABASE_URL``, else ``DIGITS_FEEDBACK_DB``, else
instance/feedback.sqlite3), or the one ``--db`` names (a SQLite path or a postgresql:// URL).
"""

from __future__ import annotations

import argparse
import collections
import sys

import numpy as np

from app.factory import default_config
from app.feedback.store import Store, StoreUnavailableError, open_store


def export(store: Store, path: str) -> int:
    """Write the corrections as ``images`` (N, 28, 28) uint8 (white on black), ``labels``
    (N,) (10: not a digit), ``predicted`` (N,) (-1: not read as a digit), ``ids`` and
    ``model_versions``; returns N."""
    corrections = store.corrections()
    images = np.zeros((len(corrections), 28, 28), np.uint8)
    for i, correction in enumerate(corrections):
        images[i] = np.frombuffer(correction.image, np.uint8).reshape(28, 28)
    np.savez_compressed(
        path,
        images=images,
        labels=np.array([c.label for c in corrections], np.int64),
        predicted=np.array([-1 if c.predicted_digit is None else c.predicted_digit
                            for c in corrections], np.int64),
        ids=np.array([c.id for c in corrections], dtype=str),
        model_versions=np.array([f"{c.model_name} {c.model_version}" for c in corrections],
                                dtype=str),
    )
    return len(corrections)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.feedback", description=__doc__)
    parser.add_argument("--db", help="SQLite path or postgresql:// URL (default: the service's)")
    commands = parser.add_subparsers(dest="command", required=True)
    exporting = commands.add_parser("export", help="write the corrections to an .npz file")
    exporting.add_argument("path")
    commands.add_parser("stats", help="count the corrections")
    commands.add_parser("migrate", help="create or upgrade the schema")
    args = parser.parse_args(argv)

    config = default_config()
    url = config["DATABASE_URL"]
    sqlite = config["FEEDBACK_DB"]
    if args.db:
        url, sqlite = (args.db, sqlite) if "://" in args.db else (None, args.db)
    store = open_store(url, sqlite, config["FEEDBACK_MAX_ROWS"])
    try:
        if args.command == "export":
            print(f"wrote {export(store, args.path)} corrections to {args.path}")
        elif args.command == "migrate":
            print(f"schema version {store.migrate()} -> current")
        else:
            corrections = store.corrections()
            labels = collections.Counter("not a digit" if c.label == 10 else str(c.label)
                                         for c in corrections)
            models = collections.Counter(f"{c.model_name} {c.model_version}" for c in corrections)
            print(f"{len(corrections)} corrections; by label {dict(sorted(labels.items()))}; "
                  f"by model {dict(models)}")
    except StoreUnavailableError as exc:
        print(f"the corrections store is unavailable: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
