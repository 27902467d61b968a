"""Real servers the tests start as their own processes on loopback: PostgreSQL and nginx
(and the service itself under gunicorn, as deployed, for them to sit in front of or behind).

PostgreSQL and nginx are started from Debian's packages into a temporary directory on a
free port, used, and stopped at the end. Where a package is missing the test is skipped with
a message saying how to install it (or failed, when ``REQUIRE_SERVERS=1``: CI installs them
and sets it).
PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` user the Debian
package creates.
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from tests.availability import REQUIRE_SERVERS, unavailable

ROOT = Path(__file__).resolve().parent.parent


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


class Postgres:
    """A PostgreSQL cluster in a temporary folder on a free loopback port, which a test can
    stop and start again (same data, same port) to see what the app does meanwhile."""

    def __init__(self) -> None:
        self.binaries = postgres_bin()
        self.folder = Path(tempfile.mkdtemp(prefix="digits-pg-"))
        self.data = self.folder / "data"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def _run(self, program: str, *args) -> None:
        command = [str(self.binaries / program), *(str(a) for a in args)]
        subprocess.run(_as_postgres(command), check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-l", self.folder / "log", "-w", "-t", "60", "-o",
                  f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off",
                  "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: connections are closed; ``immediate``: a crash)."""
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[Postgres]:
    """A fresh, started :class:`Postgres`, removed at the end."""
    server = Postgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A fresh PostgreSQL cluster on a free loopback port; yields its postgresql:// URL."""
    with postgres_server() as server:
        yield server.url


def create_database(server_url: str) -> str:
    """A new, empty database on the server at ``server_url``; returns its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def program(name: str, package: str) -> str:
    """The path of a program from a Debian package, or skip (fail under REQUIRE_SERVERS)."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        unavailable(f"{name} is not installed (apt-get install {package}): the tests that "
                    "need it are skipped", REQUIRE_SERVERS)
    return found


class Gunicorn:
    """One instance of the service as deployed (gunicorn.conf.py) on a loopback port, in its
    own process group (so :meth:`kill` takes its workers down with it, as a crashed
    container would); its output goes to ``log``."""

    def __init__(self, port: int, log: Path, app: str | None = None, **env: str) -> None:
        """``app``: another WSGI app than gunicorn.conf.py's (``module:variable``)."""
        self.port, self.log, self.app, self.env = port, log, app, env
        self.process: subprocess.Popen | None = None

    def start(self) -> Gunicorn:
        environment = {**os.environ, "WEB_CONCURRENCY": "1", **self.env}
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                 "--bind", f"127.0.0.1:{self.port}", *([self.app] if self.app else [])],
                cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_ready(self, seconds: float = 60.0, path: str = "/readyz") -> None:
        """Wait until ``path`` answers 200 (or fail, showing the end of the log)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                break
            with contextlib.suppress(OSError):
                if http_get(self.port, path)[0] == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn on {self.port} is not ready:\n"
                           f"{self.log.read_text(errors='replace')[-3000:]}")

    def kill(self) -> None:
        """SIGKILL to every process of the instance: in-flight requests are cut off."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


NGINX_CONFIG = ROOT / "deploy" / "nginx" / "digits.conf"


def render_nginx_config(upstream_ports: list[int], listen_port: int,
                        text: str | None = None) -> str:
    """deploy/nginx/digits.conf for this machine: listening on 127.0.0.1:``listen_port``,
    the upstream's server line repeated for each loopback port (same parameters), the static
    files from this checkout. Everything else is the file as deployed."""
    text = NGINX_CONFIG.read_text() if text is None else text

    def once(pattern: str, replace, text: str) -> str:
        result, count = re.subn(pattern, replace, text, flags=re.MULTILINE)
        if count != 1:
            raise ValueError(f"{NGINX_CONFIG.name}: expected one line matching {pattern!r}, "
                             f"found {count}")
        return result

    text = once(r"^(\s*)listen 80;$", rf"\g<1>listen 127.0.0.1:{listen_port};", text)
    text = once(r"^(\s*)server app:8000( [^;]*)?;$", lambda m: "\n".join(
        f"{m.group(1)}server 127.0.0.1:{port}{m.group(2) or ''};" for port in upstream_ports),
        text)
    return once(r"^(\s*)root /srv/digits;$", rf"\g<1>root {ROOT};", text)


class Nginx:
    """Debian's nginx running a given http-context configuration, in a temporary folder."""

    def __init__(self, config: str, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self.access_log = folder / "access.log"
        (folder / "digits.conf").write_text(config)
        # As root, the workers stay root: they read this folder and the checkout.
        user = "user root;" if os.geteuid() == 0 else ""
        self.main = folder / "nginx.conf"
        self.main.write_text(f"""{user}
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    log_format upstreams '$msec $status $request_method $uri "$upstream_addr" '
                         '"$upstream_status"';
    access_log {self.access_log} upstreams buffer=64k flush=1s;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/digits.conf;
}}
""")
        self.binary = program("nginx", "nginx")
        self.process: subprocess.Popen | None = None

    def entries(self) -> list[tuple[float, int, str, str, list[str]]]:
        """(time, status, method, uri, upstream addresses tried) per request logged so far
        (nginx writes its log every second, and when it stops)."""
        found = []
        for line in self.access_log.read_text().splitlines():
            match = re.match(r'^(\S+) (\d+) (\S+) (\S+) "([^"]*)"', line)
            if match:
                upstreams = [a.strip() for a in match.group(5).split(",") if a.strip() != "-"]
                found.append((float(match.group(1)), int(match.group(2)), match.group(3),
                              match.group(4), upstreams))
        return found

    def test(self) -> subprocess.CompletedProcess:
        """``nginx -t`` on this configuration."""
        return subprocess.run([self.binary, "-t", "-q", "-c", str(self.main)],
                              capture_output=True, text=True, timeout=60)

    def start(self) -> Nginx:
        self.process = subprocess.Popen([self.binary, "-c", str(self.main)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: logs flushed
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def nginx(upstream_ports: list[int]) -> Iterator[Nginx]:
    """nginx with the project's configuration (:func:`render_nginx_config`) on a free port,
    in front of gunicorn instances on ``upstream_ports``; stopped and removed at the end."""
    program("nginx", "nginx")  # skipped (or failed) before anything is made
    folder = Path(tempfile.mkdtemp(prefix="digits-nginx-"))
    port = free_port()
    server = Nginx(render_nginx_config(upstream_ports, port), folder, port)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
