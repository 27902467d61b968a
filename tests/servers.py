"""Real servers the tests start as their own processes on loopback: PostgreSQL and nginx.

Each is started from Debian's packages into a temporary directory on a free port, used, and
stopped at the end. Where a package is missing the test is skipped with a message saying
how to install it (or failed, when ``REQUIRE_SERVERS=1``: CI installs them and sets it).
PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` user the Debian
package creates.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.availability import REQUIRE_SERVERS, unavailable


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        unavailable("PostgreSQL is not installed (apt-get install postgresql): the PostgreSQL "
                    "tests are skipped", REQUIRE_SERVERS)
    return Path(found[-1]).parent


def _as_postgres(command: list[str]) -> list[str]:
    """Run as the postgres user when we are root (PostgreSQL will not run as root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A fresh PostgreSQL cluster on a free loopback port; yields its postgresql:// URL."""
    binaries = postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="digits-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    port = free_port()

    def run(*args) -> None:
        subprocess.run(_as_postgres([str(a) for a in args]), check=True, capture_output=True,
                       timeout=120)

    try:
        run(binaries / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        run(binaries / "pg_ctl", "-D", data, "-l", folder / "log", "-w", "-t", "60", "-o",
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            run(binaries / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)
