"""The scale-out proof, short: PostgreSQL, two instances of the service behind nginx with
the project's config, 20 seconds of predictions and corrections at 32 connections, one
instance killed (SIGKILL, workers and all) and started again. bench/bench_scaleout.py is the
long version, which also measures throughput for 1, 2 and 3 instances."""

from __future__ import annotations

import pytest

from bench.bench_scaleout import run_configuration


@pytest.mark.timeout(240)
def test_a_replica_killed_under_load_loses_nothing(postgres_url, tmp_path):
    # 20 s: killed at 6.7 s, started again at 10 s; nginx tries a failed replica again 5 s
    # after its last failure, so a slow restart on a busy machine still gets traffic back.
    outcome = run_configuration(postgres_url, instances=2, seconds=20, connections=32,
                                corrections=4, failover=True, folder=tmp_path, warmup=1)
    report = outcome.__dict__
    assert outcome.predictions > 100, report
    # nginx retried what the killed instance had in hand: no prediction failed
    assert outcome.predictions_failed == 0 and outcome.socket_errors == 0, report
    assert outcome.abandoned <= 32, report  # only what was in flight when the load stopped
    # every acknowledged correction is stored, once
    assert outcome.acknowledged >= 20, report
    assert outcome.missing == [] and outcome.duplicated == [], report
    # the killed instance served nothing while down, and was used again once back
    survivor, killed = outcome.served_by.values()
    assert killed["before kill"] > 0 and killed["while down"] == 0, report
    assert killed["after restart"] > 0, report
    assert survivor["while down"] > 0, report
    assert outcome.correct
