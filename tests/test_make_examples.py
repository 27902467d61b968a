"""scripts/make_examples.py: the page's MNIST examples, on small made-up data."""

from __future__ import annotations

import importlib.util
import json

import numpy as np

from app.factory import ROOT
from tests.images import decode_data_url

spec = importlib.util.spec_from_file_location("make_examples", ROOT / "scripts/make_examples.py")
make_examples = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_examples)


def test_examples_avoid_misread_digits_and_include_them_for_the_report(tmp_path):
    labels = np.array([0, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 2], np.uint8)
    images = np.zeros((len(labels), 28, 28), np.uint8)
    images[:, 10:18, 12:16] = 255
    (tmp_path / "a.metrics.json").write_text(json.dumps(
        {"misclassified": [{"index": 0, "label": 0, "predicted": 6, "confidence": 0.6}]}))
    (tmp_path / "b.metrics.json").write_text(json.dumps(
        {"misclassified": [{"index": 4, "label": 2, "predicted": 7, "confidence": 0.5}]}))
    document = make_examples.build(images, labels, tmp_path)
    assert document["examples"] == [2, 1, 12, 5, 6, 7, 8, 9, 10, 11]  # 0 and 4 are misread
    digits = {d["index"]: d for d in document["digits"]}
    assert set(digits) == set(document["examples"]) | {0, 4}
    assert digits[4]["label"] == 2
    seen = np.asarray(decode_data_url(digits[4]["image"]))
    assert seen.shape == (28, 28) and (seen == images[4]).all()


def test_shipped_file_matches_its_examples():
    document = json.loads((ROOT / "static/examples/mnist-test-digits.json").read_text())
    labels = {d["index"]: d["label"] for d in document["digits"]}
    assert [labels[i] for i in document["examples"]] == list(range(10))
