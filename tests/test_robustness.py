"""The quick form of bench/bench_robustness.py: real-world variants of MNIST test digits
through POST /predict, each held to a threshold slightly below its goal (the README's table
comes from the full benchmark, 500 digits per variant)."""

from __future__ import annotations

import numpy as np
import pytest

from app.factory import create_app
from bench.bench_robustness import run
from bench.variants import VARIANTS

COUNT = 100
#: Least share read right per variant (blank variants: least share answered "no digit").
THRESHOLDS = {
    "plain": 0.98, "tight": 0.97, "tight+1": 0.97, "scan8": 0.9, "scan8-blocky": 0.86,
    "scan8-28": 0.9, "scan12": 0.95, "scan16": 0.97, "jpeg20": 0.97, "thick": 0.95,
    "thin": 0.96, "rotated25": 0.95, "perspective": 0.96, "noisy": 0.95, "pencil": 0.97,
    "ruled": 0.95, "corner": 0.96, "desk-photo": 0.94,
    "blank-white": 1.0, "blank-transparent": 1.0, "blank-paper": 1.0, "blank-desk": 0.97,
}


@pytest.fixture(scope="module")
def rows(mnist):
    order = np.random.default_rng(7).permutation(len(mnist.test_labels))[:COUNT]
    client = create_app().test_client()
    return {row.variant.name: row for row in run(client, mnist.test_images[order],
                                                   mnist.test_labels[order], VARIANTS, seed=7)}


def test_every_variant_has_a_threshold():
    assert set(THRESHOLDS) == {variant.name for variant in VARIANTS}


@pytest.mark.slow
@pytest.mark.parametrize("variant", [v for v in VARIANTS if not v.blank], ids=lambda v: v.name)
def test_real_world_variants_are_read(rows, variant):
    row = rows[variant.name]
    assert row.accuracy >= THRESHOLDS[variant.name], (variant.name, row.accuracy, row.statuses)


@pytest.mark.slow
@pytest.mark.parametrize("variant", [v for v in VARIANTS if v.blank], ids=lambda v: v.name)
def test_blank_variants_have_no_digit(rows, variant):
    row = rows[variant.name]
    assert row.rate("no_digit") >= THRESHOLDS[variant.name], (variant.name, row.statuses)
