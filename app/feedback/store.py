"""Where corrections are kept: SQLite (default) or PostgreSQL, through the same SQL.

:func:`open_store` picks the backend from the configuration: ``DATABASE_URL``
(``postgresql://...``) means PostgreSQL through psycopg with a small connection pool per
worker (:class:`PostgresStore` says how it is bounded and what it does when the database is
lost); otherwise a SQLite file (``DIGITS_FEEDBACK_DB``, default ``instance/feedback.sqlite3``)
in WAL mode, so several gunicorn workers write to it safely. Either way the schema is
created or migrated on first use, once, under a lock (SQLite's write lock, PostgreSQL's
advisory lock), so replicas that start together do not race.

A write commits before :meth:`Store.add` returns: a correction the API acknowledged is on
disk. Adding is idempotent on the client's id (``INSERT ... ON CONFLICT (id) DO NOTHING``),
which is also what makes retrying after a lost connection safe: the retry either stores the
correction or finds it already stored, never twice.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from app.feedback.schema import COLUMNS, INSERT, MIGRATIONS, SELECT_ALL, VERSION

#: PostgreSQL advisory lock key for migrations (any constant shared by all replicas).
MIGRATION_LOCK = 0x44_49_47_49  # "DIGI"
#: Seconds a SQLite writer waits for another worker's write lock.
SQLITE_BUSY_SECONDS = 10.0


class StoreUnavailableError(RuntimeError):
    """The store cannot be read or written now (read-only file, full disk, database down)."""


class StoreFullError(RuntimeError):
    """The store holds its maximum number of corrections."""


@dataclass
class Correction:
    """One correction, as stored (see :data:`app.feedback.schema.COLUMNS`)."""

    id: str
    created_at: str
    image: bytes  # 784 bytes: the 28x28 the network saw, uint8, white on black
    predicted_status: str
    predicted_digit: int | None
    confidence: float | None
    label: int  # 0-9, or 10: not a digit
    model_name: str
    model_version: str
    box: str | None  # JSON [x0, y0, x1, y1], or None




class Store:
    """The operations, in SQL both databases run; subclasses supply connections."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self._migrated = False
        self._lock = threading.Lock()

    # subclass hooks ----------------------------------------------------------------------
    def _run(self, work, write: bool = False) -> Any:
        """Call ``work(execute)`` in one transaction; ``execute(sql, params) -> cursor``."""
        raise NotImplementedError

    def _lock_for_migration(self, execute) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections."""

    # operations --------------------------------------------------------------------------
    def migrate(self) -> int:
        """Bring the schema to :data:`VERSION` (creating it if need be); returns the version
        found before."""

        def work(execute) -> int:
            self._lock_for_migration(execute)
            execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = execute("SELECT version FROM schema_version").fetchone()
            found = row[0] if row else 0
            if row is None:
                execute("INSERT INTO schema_version (version) VALUES (0)")
            if found > VERSION:
                raise StoreUnavailableError(f"the database's schema version {found} is newer than "
                                       f"this program's ({VERSION})")
            for statements in MIGRATIONS[found:]:
                for statement in statements:
                    execute(statement)
            execute("UPDATE schema_version SET version = :version", {"version": VERSION})
            return found

        found = self._run(work, write=True)
        self._migrated = True
        return found

    def ready(self) -> None:
        """Migrate on first use (once per process)."""
        if not self._migrated:
            with self._lock:
                if not self._migrated:
                    self.migrate()

    def add(self, correction: Correction) -> bool:
        """Store a correction; False when its id was already stored. Raises StoreFullError."""
        self.ready()
        values = dict(zip(COLUMNS, astuple(correction), strict=True))

        def work(execute) -> bool:
            if execute("SELECT 1 FROM corrections WHERE id = :id", {"id": correction.id}
                       ).fetchone():
                return False
            if execute("SELECT COUNT(*) FROM corrections").fetchone()[0] >= self.max_rows:
                raise StoreFullError(f"the store holds its maximum of {self.max_rows} corrections")
            return execute(INSERT, values).rowcount == 1

        return self._run(work, write=True)

    def count(self) -> int:
        self.ready()
        return self._run(lambda execute: execute("SELECT COUNT(*) FROM corrections")
                         .fetchone()[0])

    def corrections(self) -> list[Correction]:
        self.ready()
        rows = self._run(lambda execute: execute(SELECT_ALL).fetchall())
        return [Correction(*(bytes(v) if isinstance(v, memoryview) else v for v in row))
                for row in rows]

    def ping(self) -> None:
        """Raise StoreUnavailableError unless the database answers (and its schema is current)."""
        self.ready()
        self._run(lambda execute: execute("SELECT version FROM schema_version").fetchone())


class SQLiteStore(Store):
    """A SQLite file in WAL mode; one connection per thread, opened on first use."""

    def __init__(self, path: str | Path, max_rows: int) -> None:
        super().__init__(max_rows)
        self.path = Path(path)
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(self.path, timeout=SQLITE_BUSY_SECONDS,
                                             isolation_level=None, check_same_thread=False)
                _switch_to_wal(connection)
                connection.execute("PRAGMA synchronous=FULL")  # committed means on disk
            except (OSError, sqlite3.Error) as exc:
                raise StoreUnavailableError(f"cannot open {self.path}: {exc}") from exc
            self._local.connection = connection
        return connection

    def _run(self, work, write: bool = False) -> Any:
        try:
            connection = self._connection()
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                result = work(lambda sql, params=None: connection.execute(sql, params or {}))
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            return result
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"{self.path}: {exc}") from exc

    def _lock_for_migration(self, execute) -> None:
        """BEGIN IMMEDIATE already holds SQLite's write lock."""

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


def _switch_to_wal(connection: sqlite3.Connection) -> None:
    """Put the file in WAL mode. The switch needs a moment alone with a new file, and SQLite
    may answer "locked" at once rather than wait while other workers open it at the same
    time, so it is retried for up to :data:`SQLITE_BUSY_SECONDS`."""
    deadline = time.monotonic() + SQLITE_BUSY_SECONDS
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class PostgresStore(Store):
    """PostgreSQL through a psycopg connection pool, bounded and quick to give up.

    Limits, per worker process: at most ``pool_size`` connections (so the database sees at
    most replicas x workers x pool_size, plus one per CLI run), one kept open between
    requests; a request waits at most ``timeout`` seconds for a connection. A gunicorn sync
    worker that waits on the database is a worker not reading digits, so the store gives up
    quickly and stays down briefly:

    - a connection that breaks while in use (the server restarted, a network blip) is
      retried once on a fresh connection: the insert is idempotent on the correction's id,
      so a retry after a commit whose answer was lost finds the row and adds nothing;
    - no connection within ``timeout`` means the database is down (a sync worker uses one
      connection at a time, so it is never the pool that is busy): for the next
      ``pause`` seconds the store answers :class:`StoreUnavailableError` at once instead of
      making every request wait again, while the pool keeps reconnecting in the background
      (giving up and starting over every ``RECONNECT_SECONDS``, so a database that comes
      back is found within seconds, not after a long back-off).
    """

    #: Seconds the pool's background reconnection backs off before it starts over.
    RECONNECT_SECONDS = 10.0

    def __init__(self, url: str, max_rows: int, pool_size: int = 2, timeout: float = 2.0,
                 pause: float = 5.0) -> None:
        super().__init__(max_rows)
        import psycopg  # imported only when PostgreSQL is configured
        import psycopg_pool

        self._errors = (psycopg.Error,)
        self._operational = psycopg.OperationalError
        self._pool_timeout = psycopg_pool.PoolTimeout
        self.pause = pause
        self._down_until = 0.0
        self.pool = psycopg_pool.ConnectionPool(
            url, min_size=1, max_size=pool_size, timeout=timeout, open=True,
            name="digits-feedback", reconnect_timeout=self.RECONNECT_SECONDS,
            kwargs={"connect_timeout": max(1, round(timeout)), "application_name": "digits"},
            check=psycopg_pool.ConnectionPool.check_connection,
        )

    def _run(self, work, write: bool = False) -> Any:
        if time.monotonic() < self._down_until:
            raise StoreUnavailableError("PostgreSQL did not answer a moment ago; not waiting "
                                        "on it again yet")
        for attempt in (1, 2):  # one retry: a connection may be lost while in use
            try:
                with self.pool.connection() as connection, connection.transaction():
                    return work(lambda sql, params=None: connection.execute(
                        _psycopg_sql(sql), params or {}))
            except self._pool_timeout as exc:  # no connection at all: the database is down
                self._down_until = time.monotonic() + self.pause
                raise StoreUnavailableError(f"PostgreSQL: {exc}") from exc
            except self._operational as exc:
                if attempt == 2:
                    raise StoreUnavailableError(f"PostgreSQL: {exc}") from exc
            except self._errors as exc:
                raise StoreUnavailableError(f"PostgreSQL: {exc}") from exc
        raise AssertionError("unreachable")

    def _lock_for_migration(self, execute) -> None:
        execute("SELECT pg_advisory_xact_lock(:key)", {"key": MIGRATION_LOCK})

    def close(self) -> None:
        self.pool.close()


def _psycopg_sql(sql: str) -> str:
    """SQLite-style :name parameters -> psycopg's %(name)s."""
    return re.sub(r"(?<!:):([A-Za-z_]\w*)", r"%(\1)s", sql)


def open_store(database_url: str | None, sqlite_path: str | Path, max_rows: int,
               pool_size: int = 2, timeout: float = 2.0) -> Store:
    """The configured store (nothing is opened or created until first used); ``pool_size``
    and ``timeout`` bound PostgreSQL's connection pool (see :class:`PostgresStore`)."""
    if database_url:
        if not is_postgresql_url(database_url):
            raise ValueError("DATABASE_URL must be a postgresql:// URL")
        return PostgresStore(database_url, max_rows, pool_size=pool_size, timeout=timeout)
    return SQLiteStore(sqlite_path, max_rows)


def is_postgresql_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))
