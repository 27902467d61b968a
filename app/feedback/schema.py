"""The corrections table and its migrations, in SQL that SQLite and PostgreSQL both run.

The database records its schema version in ``schema_version``; :data:`MIGRATIONS` lists the
statements that take it from each version to the next. Version 1 was the first table;
version 2 added the digit's box (for the digits of a number) and an index on the time.
"""

from __future__ import annotations

#: Statements per version: MIGRATIONS[v - 1] takes the schema from v - 1 to v.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE corrections (
            id VARCHAR(64) PRIMARY KEY,
            created_at VARCHAR(32) NOT NULL,
            image BYTEA NOT NULL,
            predicted_status VARCHAR(16) NOT NULL,
            predicted_digit INTEGER,
            confidence DOUBLE PRECISION,
            label INTEGER NOT NULL,
            model_name VARCHAR(64) NOT NULL,
            model_version VARCHAR(64) NOT NULL
        )""",
    ),
    (
        "ALTER TABLE corrections ADD COLUMN box VARCHAR(64)",
        "CREATE INDEX corrections_created_at ON corrections (created_at)",
    ),
)
VERSION = len(MIGRATIONS)

#: Columns of a correction, in the order the store inserts and exports them.
COLUMNS = ("id", "created_at", "image", "predicted_status", "predicted_digit", "confidence",
           "label", "model_name", "model_version", "box")
INSERT = (
    "INSERT INTO corrections (id, created_at, image, predicted_status, predicted_digit, "
    "confidence, label, model_name, model_version, box) VALUES (:id, :created_at, :image, "
    ":predicted_status, :predicted_digit, :confidence, :label, :model_name, :model_version, "
    ":box) ON CONFLICT (id) DO NOTHING"
)
SELECT_ALL = (
    "SELECT id, created_at, image, predicted_status, predicted_digit, confidence, label, "
    "model_name, model_version, box FROM corrections ORDER BY created_at, id"
)
