"""Scale-out proof: PostgreSQL, 1-3 gunicorn instances and nginx with the project's config.

Everything runs on this machine, on 127.0.0.1 only, and stops by itself:

- PostgreSQL from Debian's package (tests/servers.py), a fresh database per run;
- N instances of the service as deployed (gunicorn.conf.py, one sync worker each, since
  here an instance stands for a one-CPU replica), DATABASE_URL set, on loopback ports;
- nginx running deploy/nginx/digits.conf (only the listen address, upstream ports and
  static root changed: tests/servers.py, render_nginx_config);
- wrk at ``--connections`` connections through nginx: POST /predict with what the page
  sends (its 280x280 canvas as a PNG data URL), mixed with POST /api/feedback corrections
  with fresh ids at ``--corrections`` a second.

For each instance count in ``--instances`` a steady run of ``--steady`` seconds measures
requests/s and the CPU the app uses per 1,000 predictions/s (gunicorn processes only, from
/proc; nginx, PostgreSQL, wrk and the rest of the machine are reported beside it). Then a
failover run of ``--duration`` seconds on ``--failover`` instances kills one instance
(SIGKILL to its process group) a third of the way in and starts it again halfway. After
every run it checks, from nginx's access log and the database:

- no prediction failed (nginx may retry one on another instance: those are counted);
- every correction that was acknowledged (201 saved or 200 already_saved) is in the
  database exactly once.

    python bench/bench_scaleout.py [--instances 1,2,3] [--steady 30] [--duration 60]
        [--failover 3] [--connections 32] [--corrections 4] [--json out.json]

The machine is shared and has 2 CPUs: the report says how busy it was during each run.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # bench.* and tests.*, when run as a script

from bench.bench_api import canvas_body  # noqa: E402
from tests.servers import (  # noqa: E402
    Gunicorn,
    create_database,
    free_port,
    nginx,
    postgres_server,
    program,
)

#: wrk's script: each thread sends predictions, and at most PER_SECOND corrections a second
#: with fresh ids; it logs every correction it sends and every answer that carries an id.
LUA = """
local threads = 0
function setup(thread)
  thread:set("number", threads)
  threads = threads + 1
end

function init(args)
  local f = io.open("{folder}/predict.json", "rb"); local predict = f:read("*a"); f:close()
  f = io.open("{folder}/correction.json", "rb"); template = f:read("*a"); f:close()
  headers = {{["Content-Type"] = "application/json"}}
  prediction = wrk.format("POST", "/predict", headers, predict)
  log = io.open(string.format("{folder}/corrections-%d.log", number), "w")
  log:setvbuf("line")
  second, sent, counter = 0, 0, 0
end

function request()
  local now = os.time()
  if now ~= second then second, sent = now, 0 end
  if sent < {per_second} then
    sent, counter = sent + 1, counter + 1
    local id = string.format("{run}-%d-%d", number, counter)
    log:write("sent ", id, "\\n")
    return wrk.format("POST", "/api/feedback", headers, (template:gsub("__ID__", id)))
  end
  return prediction
end

function response(status, headers, body)
  local id = body:match('"id": *"([%w_-]+)"')
  if id then log:write(status, " ", id, "\\n") end
end

done = function(summary, latency, requests)
  io.write(string.format(
    "RESULT {{\\"requests\\": %d, \\"seconds\\": %f, \\"p50_us\\": %f, \\"p99_us\\": %f, "
    .. "\\"socket_errors\\": %d}}\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout))
end
"""

#: A correction as the page sends it, for a 28x28 blank-ish image (the id is filled in).
CORRECTION = {
    "id": "__ID__", "label": 7,
    "predicted": {"status": "ok", "digit": 1, "confidence": 0.62},
    "model": {"name": "default", "version": "bench"},
}


def correction_body() -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("L", (28, 28), 0)
    ImageDraw.Draw(image).line([(8, 6), (20, 6), (12, 22)], fill=255, width=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return json.dumps({**CORRECTION, "image": url}).encode()


# CPU accounting from /proc -----------------------------------------------------------------
TICKS = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def process_tree_cpu(pid: int) -> float:
    """CPU seconds used by ``pid`` and its descendants, those already reaped included."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    own = sum(int(value) for value in fields[11:15]) / TICKS  # utime stime cutime cstime
    return own + sum(process_tree_cpu(child) for child in _children(pid))


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


def wrk_cpu() -> float:
    """CPU seconds of this process's reaped children (wrk, once it has exited)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Meter:
    """CPU seconds per part of the system between :meth:`start` and :meth:`stop`."""

    parts: dict[str, list[int]]  # name -> root pids
    start_values: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)

    def _read(self) -> dict[str, float]:
        values = {name: sum(process_tree_cpu(pid) for pid in pids)
                  for name, pids in self.parts.items()}
        values["wrk"] = wrk_cpu()
        values["machine"], values["machine_total"] = machine_cpu()
        return values

    def start(self) -> None:
        self.start_values = self._read()

    def stop(self) -> None:
        end = self._read()
        self.used = {name: end[name] - self.start_values[name] for name in end}
        ours = sum(v for k, v in self.used.items() if not k.startswith("machine"))
        self.used["other"] = max(0.0, self.used["machine"] - ours)


#: nginx's status for a request whose client went away first (wrk stopping mid-request).
CLIENT_CLOSED = 499


# One configuration: N instances behind nginx ----------------------------------------------
@dataclass
class Outcome:
    """What one run did, from wrk, nginx's access log and the database."""

    instances: int
    connections: int
    seconds: float
    requests: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    predictions: int = 0
    predictions_failed: int = 0
    abandoned: int = 0
    retried: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    acknowledged: int = 0
    already_saved: int = 0
    missing: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    stored_unacknowledged: int = 0
    served_by: dict[str, dict[str, int]] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    events: dict[str, float] = field(default_factory=dict)
    load_before: float = 0.0  # the machine's 1-minute load average as the run started

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def predictions_per_second(self) -> float:
        return self.predictions / self.seconds

    @property
    def correct(self) -> bool:
        """No prediction failed, every acknowledged correction is stored once, and nothing
        was abandoned but what was in flight when wrk stopped (one per connection)."""
        return (self.predictions_failed == 0 and self.socket_errors == 0
                and self.abandoned <= self.connections
                and not self.missing and not self.duplicated)


def run_wrk(port: int, folder: Path, connections: int, seconds: float,
            per_second: int) -> tuple[dict[str, Any], subprocess.Popen]:
    """Start wrk (the mixed load) through nginx; returns (script settings, process)."""
    run = secrets.token_hex(4)
    script = folder / "mixed.lua"
    script.write_text(LUA.format(folder=folder, per_second=per_second, run=run))
    process = subprocess.Popen(
        [program("wrk", "wrk"), "-t2", f"-c{connections}", f"-d{round(seconds)}s",
         "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}/predict"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    return {"run": run}, process


def read_correction_logs(folder: Path) -> tuple[set[str], dict[str, list[int]]]:
    """(ids sent, id -> statuses of the answers that carried it) from wrk's thread logs."""
    sent: set[str] = set()
    answers: dict[str, list[int]] = {}
    for log in folder.glob("corrections-*.log"):
        for line in log.read_text().splitlines():
            first, _, identifier = line.partition(" ")
            if first == "sent":
                sent.add(identifier)
            else:
                answers.setdefault(identifier, []).append(int(first))
    return sent, answers


def stored_ids(url: str) -> list[str]:
    import psycopg

    with psycopg.connect(url) as connection:
        return [row[0] for row in connection.execute("SELECT id FROM corrections")]


def run_configuration(server_url: str, instances: int, seconds: float, connections: int,
                      corrections: int, failover: bool, folder: Path,
                      warmup: float = 2.0) -> Outcome:
    """Start ``instances`` instances and nginx, run the mixed load, check, stop."""
    database = create_database(server_url)
    env = {"DATABASE_URL": database, "ACCESS_LOG": "",
           # the bench measures throughput: the per-worker limit of corrections (60 a
           # minute) would refuse most of its corrections on one instance
           "DIGITS_FEEDBACK_PER_MINUTE": "100000"}
    ports = [free_port() for _ in range(instances)]
    servers = [Gunicorn(port, folder / f"gunicorn-{port}.log", **env).start() for port in ports]
    try:
        for server in servers:
            server.wait_ready()
        with nginx(ports) as proxy:
            (folder / "predict.json").write_bytes(canvas_body())
            (folder / "correction.json").write_bytes(correction_body())
            if warmup:
                _, process = run_wrk(proxy.port, folder, connections, warmup, 0)
                process.communicate(timeout=warmup + 60)
            for log in folder.glob("corrections-*.log"):
                log.unlink()
            meter = Meter({"app": [s.process.pid for s in servers],
                           "nginx": [proxy.process.pid]})
            meter.parts["postgres"] = [_postmaster(server_url)]
            events: dict[str, float] = {}
            load_before = os.getloadavg()[0]
            started = time.time()
            meter.start()
            _, process = run_wrk(proxy.port, folder, connections, seconds,
                                 max(1, corrections // 2))
            if failover:
                victim = servers[-1]
                time.sleep(seconds / 3)
                victim.kill()
                events["killed"] = time.time()
                time.sleep(max(0.0, started + seconds / 2 - time.time()))
                victim.start()
                events["restarted"] = time.time()
                victim.wait_ready()
                events["ready_again"] = time.time()
            output, _ = process.communicate(timeout=seconds + 60)
            meter.stop()
            proxy.stop()  # flushes its access log
            entries = [e for e in proxy.entries() if e[0] >= started]
    finally:
        for server in servers:
            server.kill()
    match = re.search(r"^RESULT (\{.*\})$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    raw = json.loads(match.group(1))
    outcome = Outcome(instances=instances, connections=connections, seconds=raw["seconds"],
                      requests=raw["requests"], socket_errors=raw["socket_errors"],
                      p50_ms=raw["p50_us"] / 1000, p99_ms=raw["p99_us"] / 1000, cpu=meter.used,
                      events={k: v - started for k, v in events.items()},
                      load_before=load_before)
    check(outcome, entries, folder, database, ports, events)
    return outcome


def _postmaster(server_url: str) -> int:
    import psycopg

    with psycopg.connect(server_url) as connection:
        data = connection.execute("SHOW data_directory").fetchone()[0]
    return int(Path(data, "postmaster.pid").read_text().split("\n", 1)[0])


def check(outcome: Outcome, entries, folder: Path, database: str, ports: list[int],
          events: dict[str, float]) -> None:
    """Fill in what the access log, wrk's logs and the database say about the run."""
    statuses: dict[str, int] = {}
    for _, status, method, uri, upstreams in entries:
        key = f"{method} {uri} {status}"
        statuses[key] = statuses.get(key, 0) + 1
        outcome.retried += len(upstreams) > 1
        if status == CLIENT_CLOSED:
            outcome.abandoned += 1
        elif uri == "/predict":
            outcome.predictions += 1
            outcome.predictions_failed += status != 200
    outcome.statuses = dict(sorted(statuses.items()))
    windows = _windows(events)
    for port in ports:
        address = f"127.0.0.1:{port}"
        outcome.served_by[str(port)] = {
            name: sum(1 for when, status, _, _, upstreams in entries
                      if upstreams and upstreams[-1] == address and status < 500
                      and low <= when < high)
            for name, (low, high) in windows.items()}
    sent, answers = read_correction_logs(folder)
    acknowledged = {i for i, codes in answers.items() if any(c in (200, 201) for c in codes)}
    stored = stored_ids(database)
    counts: dict[str, int] = {}
    for identifier in stored:
        counts[identifier] = counts.get(identifier, 0) + 1
    outcome.sent = len(sent)
    outcome.acknowledged = len(acknowledged)
    outcome.already_saved = sum(1 for codes in answers.values() if 200 in codes)
    outcome.missing = sorted(acknowledged - set(counts))
    outcome.duplicated = sorted(i for i, n in counts.items() if n > 1)
    outcome.stored_unacknowledged = len(set(counts) - acknowledged)


def _windows(events: dict[str, float]) -> dict[str, tuple[float, float]]:
    if "killed" not in events:
        return {"run": (0.0, float("inf"))}
    return {"before kill": (0.0, events["killed"]),
            "while down": (events["killed"], events["ready_again"]),
            "after restart": (events["ready_again"], float("inf"))}


# Reporting ---------------------------------------------------------------------------------
def report(steady: list[Outcome], failovers: list[Outcome], connections: int) -> None:
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average now {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} (shared: 'other' is CPU used by processes outside this bench)")
    if steady:
        base = steady[0].requests_per_second
        print(f"\nsteady runs, {connections} connections through nginx:")
        print(f"{'instances':>9s} {'req/s':>8s} {'x':>5s} {'pred/s':>8s} {'p50 ms':>7s} "
              f"{'p99 ms':>7s} {'app CPU':>8s} {'app CPU per 1k pred/s':>22s} "
              f"{'nginx':>6s} {'wrk':>5s} {'pg':>5s} {'other':>6s} {'idle':>5s} {'load':>6s}")
        for o in steady:
            cores = {k: v / o.seconds for k, v in o.cpu.items()}
            per_1k = cores["app"] / (o.predictions_per_second / 1000.0)
            idle = max(0.0, cores["machine_total"] - cores["machine"])
            print(f"{o.instances:9d} {o.requests_per_second:8.0f} "
                  f"{o.requests_per_second / base:5.2f} {o.predictions_per_second:8.0f} "
                  f"{o.p50_ms:7.1f} {o.p99_ms:7.1f} {cores['app']:8.2f} {per_1k:22.2f} "
                  f"{cores['nginx']:6.2f} {cores['wrk']:5.2f} {cores['postgres']:5.2f} "
                  f"{cores['other']:6.2f} {idle:5.2f} {o.load_before:6.2f}")
        print("(CPU columns in cores: CPU seconds per second of the run; other: processes "
              "outside this bench; load: the 1-minute load average as the run started)")
    for o in steady + failovers:
        kind = "failover" if o.events else "steady"
        print(f"\n{kind} run, {o.instances} instance(s), {o.seconds:.0f} s: {o.requests} requests, "
              f"{o.predictions} predictions ({o.predictions_failed} failed), "
              f"{o.abandoned} in flight when wrk stopped, "
              f"{o.retried} retried by nginx on another instance, "
              f"{o.socket_errors} socket errors")
        if o.events:
            print("  events (s): " + ", ".join(f"{k} {v:.1f}" for k, v in o.events.items()))
            print("  served by instance (port: before kill / while down / after restart): "
                  + "; ".join(f"{port}: " + " / ".join(str(n) for n in windows.values())
                              for port, windows in o.served_by.items()))
        print(f"  corrections: {o.sent} sent, {o.acknowledged} acknowledged "
              f"({o.already_saved} as already_saved), {len(o.missing)} acknowledged but "
              f"missing, {len(o.duplicated)} stored twice, {o.stored_unacknowledged} stored "
              "without an acknowledgement (answer lost or the run ended first)")
        print(f"  statuses: {o.statuses}")
        print(f"  checks: {'PASSED' if o.correct else 'FAILED'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", default="1,2,3", help="steady runs (comma-separated)")
    parser.add_argument("--steady", type=float, default=30.0, help="seconds per steady run")
    parser.add_argument("--failover", default="3", help="failover runs (comma-separated)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per failover run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--corrections", type=int, default=4, help="corrections a second")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args(argv)

    def counts(text: str) -> list[int]:
        return [int(n) for n in text.split(",") if n.strip()]

    steady, failovers = [], []
    with postgres_server() as server, tempfile.TemporaryDirectory(prefix="scaleout-") as tmp:
        plan = [(n, False) for n in counts(args.instances)]
        plan += [(n, True) for n in counts(args.failover)]
        for instances, failover in plan:
            folder = Path(tmp) / f"{instances}-{'failover' if failover else 'steady'}"
            folder.mkdir()
            print(f"running {instances} instance(s), {'failover' if failover else 'steady'}...",
                  flush=True)
            outcome = run_configuration(
                server.url, instances, args.duration if failover else args.steady,
                args.connections, args.corrections, failover, folder)
            (failovers if failover else steady).append(outcome)
    report(steady, failovers, args.connections)
    if args.json:
        args.json.write_text(json.dumps(
            [{**o.__dict__, "requests_per_second": o.requests_per_second,
              "predictions_per_second": o.predictions_per_second}
             for o in steady + failovers], indent=2))
    return 0 if all(o.correct for o in steady + failovers) else 1


if __name__ == "__main__":
    sys.exit(main())
