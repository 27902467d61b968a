"""Several models on one server: /api/models, ?model= on every model route, /api/report
(the report card) and /api/kernels (the first layer's learned kernels)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.factory import ROOT, create_app
from tests.images import data_url, draw_digit, encode

PNG = encode(draw_digit("7", ink=0, background=255))
PARAMS = ROOT / "params"


@pytest.fixture(scope="module")
def app():
    return create_app()


@pytest.fixture()
def client(app):
    return app.test_client()


def error_code(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()["error"]["code"]


def test_models_lists_every_parameter_file_default_first(client, app):
    body = client.get("/api/models").get_json()
    default = app.extensions["digits_predictor"]
    names = [model["name"] for model in body["models"]]
    assert body["default"] == default.name == names[0]
    shipped = {path.stem for path in PARAMS.glob("*.pkl")}
    assert set(names) == shipped and len(names) == len(shipped)
    for model in body["models"]:
        assert model["parameters"] > 0 and model["version"]


def test_predict_with_each_model(client):
    readings = {}
    for name in ("default", "seed"):
        body = client.post(f"/predict?model={name}", json={"image": data_url(PNG)}).get_json()
        assert body["model"]["name"] == name
        assert body["digit"] == 7, body["message"]
        readings[name] = body["probabilities"]
    assert readings["default"] != readings["seed"], "both answers came from one network"
    default = client.post("/predict", json={"image": data_url(PNG)}).get_json()
    assert default["model"]["name"] == "default"


@pytest.mark.parametrize("path", ["/api/model", "/api/report", "/api/kernels"])
def test_model_routes_follow_the_model_parameter(client, path):
    seed = client.get(f"{path}?model=seed").get_json()
    default = client.get(path).get_json()
    assert seed != default
    assert client.get(f"{path}?model=default").get_json() == default


def test_model_info_of_the_seed_network(client, app):
    body = client.get("/api/model?model=seed").get_json()
    seed = app.extensions["digits_models"].get("seed")
    assert body["name"] == "seed" and body["parameters"] == seed.network.num_parameters()
    assert body["architecture"] == seed.network.spec()


@pytest.mark.parametrize("path", ["/api/model", "/api/report", "/api/kernels"])
def test_unknown_or_repeated_model_is_a_json_error(client, path):
    assert error_code(client.get(f"{path}?model=nope"), 404) == "unknown_model"
    assert error_code(client.get(f"{path}?model="), 400) == "invalid_parameter"
    assert error_code(client.get(f"{path}?model=seed&model=default"), 400) == "invalid_parameter"


def test_predict_with_unknown_model(client):
    response = client.post("/predict?model=nope", json={"image": data_url(PNG)})
    assert error_code(response, 404) == "unknown_model"
    assert "default" in response.get_json()["error"]["message"]


def test_openapi_lists_the_model_names(client):
    document = client.get("/openapi.json").get_json()
    for path, method in (("/predict", "post"), ("/api/model", "get"), ("/api/report", "get"),
                         ("/api/kernels", "get")):
        operation = document["paths"][path][method]
        (model,) = [p for p in operation["parameters"] if p["name"] == "model"]
        assert model["schema"]["enum"] == ["default", "seed"]
        assert "404" in operation["responses"]


def test_models_folder_skips_refused_files_and_repeated_names(tmp_path):
    for name in ("default", "seed"):
        shutil.copy(PARAMS / f"{name}.pkl", tmp_path / f"{name}.pkl")
    shutil.copy(PARAMS / "seed.pkl", tmp_path / "seed-copy.pkl")  # also named "seed"
    (tmp_path / "broken.pkl").write_bytes(b"not a pickle")
    app = create_app({"PARAMS_PATH": str(tmp_path / "default.pkl"), "MODELS_DIR": str(tmp_path)})
    assert app.extensions["digits_models"].names == ["default", "seed"]


def test_no_models_folder_serves_the_default_only():
    app = create_app({"MODELS_DIR": ""})
    body = app.test_client().get("/api/models").get_json()
    assert [m["name"] for m in body["models"]] == ["default"]


# --- the report card -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["default", "seed"])
def test_report_card_is_the_metrics_file(client, name):
    metrics = json.loads((PARAMS / f"{name}.metrics.json").read_text())
    card = client.get(f"/api/report?model={name}").get_json()
    assert card["evaluated"] is True and card["name"] == name
    assert card["test_accuracy"] == metrics["test_accuracy"]
    assert card["confusion_matrix"] == metrics["confusion_matrix"]
    assert sum(map(sum, card["confusion_matrix"])) == card["test_images"]
    assert len(card["classes"]) == len(card["confusion_matrix"])
    assert [m["index"] for m in card["misread"]] == [m["index"] for m in metrics["misclassified"]]
    assert len(card["misread"]) == card["test_errors"]
    assert [e["epoch"] for e in card["history"]] == list(range(1, metrics["epochs"] + 1))
    assert all(0 < e["val_accuracy"] <= 1 for e in card["history"])


def test_report_card_without_metrics(tmp_path):
    shutil.copy(PARAMS / "seed.pkl", tmp_path / "seed.pkl")
    app = create_app({"PARAMS_PATH": str(tmp_path / "seed.pkl"), "MODELS_DIR": ""})
    card = app.test_client().get("/api/report").get_json()
    assert card["evaluated"] is False
    assert card["history"] == card["confusion_matrix"] == card["misread"] == []


def test_misread_digits_have_images_in_the_examples_file():
    """Every misread digit of every report card can be shown: scripts/make_examples.py put
    its image in the static examples file (run it again after evaluating a model)."""
    examples = json.loads((ROOT / "static/examples/mnist-test-digits.json").read_text())
    for path in PARAMS.glob("*.metrics.json"):
        wanted = {m["index"] for m in json.loads(path.read_text())["misclassified"]}
        missing = wanted - {digit["index"] for digit in examples["digits"]}
        assert not missing, (f"{path.name}: misread digits {sorted(missing)[:5]}... have no "
                             "image: run .venv/bin/python scripts/make_examples.py")


# --- kernels ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["default", "seed"])
def test_kernels_are_the_first_convolutions_weights(client, app, name):
    body = client.get(f"/api/kernels?model={name}").get_json()
    network = app.extensions["digits_models"].get(name).network
    weights = network.layers[body["index"]].params["W"]
    assert network.layers[body["index"]].type_name == "conv2d" and body["index"] == 0
    assert np.asarray(body["weights"]).shape == weights.shape
    assert [body["filters"], body["channels"], body["height"], body["width"]] == \
        list(weights.shape)
    np.testing.assert_allclose(body["weights"], weights, atol=1e-5)
    assert body["scale"] == pytest.approx(float(np.abs(weights).max()), abs=1e-5)


def test_examples_file_is_small():
    size = Path(ROOT / "static/examples/mnist-test-digits.json").stat().st_size
    assert size < 200_000, size
