"""Benchmark of the HTTP service: POST /predict against GET /healthz on one gunicorn server.

Starts gunicorn (gunicorn.conf.py, the shipped weights unless --params) on 127.0.0.1 at a free
port, then measures, for each endpoint in the same run:

- latency p50/p99 at concurrency 1, and
- requests/s at --connections concurrent connections,

with wrk (a Lua script sends the POST body) when it is installed, else a Python client. The
/predict body is what the drawing page sends: JSON with the PNG data URL of its 420x280
export (static/js/drawing.js EXPORT_WIDTH x EXPORT_HEIGHT), a black "7" on white. Prints
the figures, the /predict:/healthz throughput ratio, and whether the targets hold
(ratio >= 50 %, p50 < 2 ms at concurrency 1: the goals of issue 11).

    python bench/bench_api.py [--duration 8] [--connections 8] [--workers N] [--json out.json]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.5
TARGET_P50_MS = 2.0

LUA = """
wrk.method = "{method}"
wrk.headers["Content-Type"] = "application/json"
{body}
done = function(summary, latency, requests)
  io.write(string.format(
    "RESULT {{\\"requests\\": %d, \\"seconds\\": %f, \\"p50_us\\": %f, \\"p99_us\\": %f, "
    .. "\\"non_2xx\\": %d, \\"socket_errors\\": %d}}\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout))
end
"""


def canvas_body() -> bytes:
    """The JSON the page posts: its 420x280 export (black ink on white) as a PNG data URL."""
    image = Image.new("RGBA", (420, 280), (255, 255, 255, 255))
    ImageDraw.Draw(image).line([(160, 60), (260, 60), (190, 230)], fill=(0, 0, 0, 255),
                               width=18, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return json.dumps({"image": url}).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn in a subprocess, its output in a log file; stopped with SIGTERM."""

    def __init__(self, port: int, workers: int | None, params: str | None, log: Path) -> None:
        env = dict(os.environ)
        if workers:
            env["WEB_CONCURRENCY"] = str(workers)
        if params:
            env["DIGITS_PARAMS"] = params
        self.port, self.log = port, log
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
             "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT, env=env, stdout=self._log_file, stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log.read_text()[-2000:]}")
            try:
                status, _ = request(self.port, "GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /healthz in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log_file.close()


def request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def run_wrk(port: int, method: str, path: str, body_file: Path | None, connections: int,
            duration: float, folder: Path) -> dict[str, float]:
    """One wrk run; returns requests/s, p50/p99 in ms and the error counts."""
    body = f'local f = io.open("{body_file}", "rb")\nwrk.body = f:read("*a")\nf:close()' \
        if body_file else ""
    script = folder / f"{method.lower()}_{path.strip('/').replace('/', '_')}.lua"
    script.write_text(LUA.format(method=method, body=body))
    threads = max(1, min(2, connections))
    completed = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s",
         "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True,
    )
    match = re.search(r"^RESULT (\{.*\})$", completed.stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    raw = json.loads(match.group(1))
    return {
        "rps": raw["requests"] / raw["seconds"],
        "p50_ms": raw["p50_us"] / 1000.0,
        "p99_ms": raw["p99_us"] / 1000.0,
        "requests": raw["requests"],
        "errors": raw["non_2xx"] + raw["socket_errors"],
    }


def run_python(port: int, method: str, path: str, body: bytes | None, connections: int,
               duration: float) -> dict[str, float]:
    """The fallback client: ``connections`` threads, each one request at a time."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + duration

    def worker() -> None:
        mine, failed = [], 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                status, _ = request(port, method, path, body)
                failed += status != 200
            except OSError:
                failed += 1
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "rps": len(ordered) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000.0,
        "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000.0,
        "requests": len(ordered),
        "errors": errors[0],
    }


def measure(args: argparse.Namespace, port: int, folder: Path, body: bytes) -> dict[str, Any]:
    body_file = folder / "predict.json"
    body_file.write_bytes(body)
    use_wrk = shutil.which("wrk") is not None and not args.python_client
    endpoints = {"predict": ("POST", "/predict", body), "healthz": ("GET", "/healthz", None)}

    def one(name: str, connections: int, duration: float) -> dict[str, float]:
        method, path, payload = endpoints[name]
        if use_wrk:
            return run_wrk(port, method, path, body_file if payload else None, connections,
                           duration, folder)
        return run_python(port, method, path, payload, connections, duration)

    for name in endpoints:  # warm-up: every worker has imported, loaded and run once
        one(name, args.connections, 1.0)
    results: dict[str, Any] = {"client": "wrk" if use_wrk else "python"}
    for name in endpoints:
        results[name] = {
            "concurrency_1": one(name, 1, args.duration),
            f"concurrency_{args.connections}": one(name, args.connections, args.duration),
        }
    return results


def report(results: dict[str, Any], connections: int) -> dict[str, Any]:
    loaded = f"concurrency_{connections}"
    print(f"client: {results['client']}; machine: {os.cpu_count()} CPUs (shared: other work may "
          "be running, so figures vary between runs)")
    print(f"{'endpoint':10s} {'p50 ms (c=1)':>13s} {'p99 ms (c=1)':>13s} {'req/s (c=1)':>12s} "
          f"{f'req/s (c={connections})':>14s} {'errors':>7s}")
    for name in ("predict", "healthz"):
        one, many = results[name]["concurrency_1"], results[name][loaded]
        print(f"{name:10s} {one['p50_ms']:13.2f} {one['p99_ms']:13.2f} {one['rps']:12.0f} "
              f"{many['rps']:14.0f} {one['errors'] + many['errors']:7.0f}")
    ratio = results["predict"][loaded]["rps"] / results["healthz"][loaded]["rps"]
    p50 = results["predict"]["concurrency_1"]["p50_ms"]
    summary = {
        "throughput_ratio": ratio,
        "ratio_target_met": ratio >= TARGET_RATIO,
        "predict_p50_ms": p50,
        "p50_target_met": p50 < TARGET_P50_MS,
    }
    print(f"/predict throughput is {ratio:.0%} of /healthz's at c={connections} "
          f"(target >= {TARGET_RATIO:.0%}: {'met' if summary['ratio_target_met'] else 'MISSED'})")
    print(f"/predict p50 at c=1 is {p50:.2f} ms "
          f"(target < {TARGET_P50_MS:g} ms: {'met' if summary['p50_target_met'] else 'MISSED'})")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=8, help="concurrency for req/s")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers")
    parser.add_argument("--params", default=None, help="parameter file (default: shipped)")
    parser.add_argument("--python-client", action="store_true", help="do not use wrk")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    body = canvas_body()
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        folder = Path(tmp)
        port = free_port()
        server = Server(port, args.workers, args.params, folder / "gunicorn.log")
        try:
            server.wait_ready()
            status, answer = request(port, "POST", "/predict", body)
            if status != 200:
                raise RuntimeError(f"POST /predict answered {status}: {answer[:300]!r}")
            model = json.loads(answer)["model"]
            print(f"server: gunicorn on 127.0.0.1:{port}, model {model['name']} "
                  f"({model['version']}), body {len(body)} bytes")
            results = measure(args, port, folder, body)
        finally:
            server.stop()
    results["summary"] = report(results, args.connections)
    results["model"] = model
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    met = results["summary"]["ratio_target_met"] and results["summary"]["p50_target_met"]
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
