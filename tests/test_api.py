"""API tests with Flask's test client: every input form, the response, and every bad input."""

from __future__ import annotations

import base64
import io
import pickle
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from app.factory import StartupError, create_app
from app.reading.decode import MAX_SIDE
from model.params_io import file_sha256, save_params
from model.presets import build_preset
from tests.images import data_url, decode_data_url, draw_digit, encode

DIGIT = draw_digit("1", ink=0, background=255)  # dark ink on white paper
PNG = encode(DIGIT)
CANVAS = draw_digit("1", ink=(0, 0, 0, 255), background=(0, 0, 0, 0), mode="RGBA")


@pytest.fixture(scope="module")
def app():
    """The app serving the shipped parameters (the DIGITS_PARAMS default)."""
    return create_app()


@pytest.fixture()
def client(app):
    return app.test_client()


def post_raw(client, data: bytes, content_type: str = "image/png", query: str = ""):
    return client.post(f"/predict{query}", data=data, content_type=content_type)


def error_of(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["message"].strip()
    return body["error"]["code"]


def assert_prediction(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["digit"] in range(10)
    probabilities = body["probabilities"]
    assert len(probabilities) == 10
    assert sum(probabilities) + body["not_digit_probability"] == pytest.approx(1.0, abs=1e-4)
    assert body["number"] == str(body["digit"]) and len(body["digits"]) == 1
    assert body["digits"][0]["digit"] == body["digit"]
    assert body["confidence"] == pytest.approx(max(probabilities))
    assert body["digit"] == int(np.argmax(probabilities))
    seen = decode_data_url(body["input_image"])
    assert seen.size == (28, 28) and seen.mode == "L"
    assert body["model"]["name"] and body["model"]["version"]
    assert body["time_ms"] >= 0 and body["message"]
    assert "feature_maps" not in body
    return body


# --- the three input forms ---------------------------------------------------------------


def test_json_data_url(client):
    assert_prediction(client.post("/predict", json={"image": data_url(PNG)}))


def test_json_bare_base64_and_url_safe_and_wrapped(client):
    plain = base64.b64encode(PNG).decode()
    assert_prediction(client.post("/predict", json={"image": plain}))
    url_safe = base64.urlsafe_b64encode(PNG).decode()
    assert_prediction(client.post("/predict", json={"image": url_safe}))
    wrapped = "\n".join(plain[i : i + 76] for i in range(0, len(plain), 76))
    assert_prediction(client.post("/predict", json={"image": wrapped.rstrip("=")}))


def test_multipart_upload(client):
    response = client.post("/predict", data={"image": (io.BytesIO(PNG), "digit.png")},
                           content_type="multipart/form-data")
    assert_prediction(response)


def test_urlencoded_form_with_data_url(client):
    assert_prediction(client.post("/predict", data={"image": data_url(PNG)}))
    unescaped_plus = "image=" + data_url(PNG).replace("+", " ")  # a sloppy client's "+"
    assert_prediction(post_raw(client, unescaped_plus.encode(),
                               "application/x-www-form-urlencoded"))


def test_multipart_text_field_with_data_url(client):
    response = client.post("/predict", data={"image": data_url(PNG)},
                           content_type="multipart/form-data")
    assert_prediction(response)


@pytest.mark.parametrize(
    ("fmt", "content_type", "options"),
    [("PNG", "image/png", {}), ("JPEG", "image/jpeg", {"quality": 90}), ("GIF", "image/gif", {}),
     ("BMP", "image/bmp", {}), ("WEBP", "image/webp", {"quality": 90}),
     ("PNG", "application/octet-stream", {}), ("JPEG", "image/png", {})],
    ids=["png", "jpeg", "gif", "bmp", "webp", "octet-stream", "mislabelled-jpeg"],
)
def test_raw_body_in_every_format(client, fmt, content_type, options):
    image = DIGIT.convert("RGB") if fmt == "JPEG" else DIGIT
    body = assert_prediction(post_raw(client, encode(image, fmt, **options), content_type))
    assert body["digit"] == 1


def test_content_type_parameters_and_case_are_accepted(client):
    assert_prediction(post_raw(client, PNG, "Image/PNG; name=digit.png"))


@pytest.mark.parametrize(
    "image",
    [CANVAS, CANVAS.convert("LA"), DIGIT.convert("P"), DIGIT.convert("1"), DIGIT.convert("CMYK"),
     Image.fromarray(np.asarray(DIGIT, np.uint16) * 257)],
    ids=["RGBA-canvas", "LA", "P", "1", "CMYK", "16-bit"],
)
def test_image_modes(client, image):
    fmt = "JPEG" if image.mode == "CMYK" else "PNG"
    body = assert_prediction(post_raw(client, encode(image, fmt), f"image/{fmt.lower()}"))
    assert body["digit"] == 1


def test_gif_first_frame_is_read(client):
    blank = Image.new("L", DIGIT.size, 255)
    data = encode(DIGIT.convert("P"), "GIF", save_all=True, append_images=[blank.convert("P")],
                  duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    assert assert_prediction(post_raw(client, data, "image/gif"))["digit"] == 1
    data = encode(blank.convert("P"), "GIF", save_all=True, append_images=[DIGIT.convert("P")])
    assert post_raw(client, data, "image/gif").get_json()["status"] == "no_digit"


def test_polarities_give_the_same_answer(client):
    white_on_black = draw_digit("7", ink=255, background=0)
    black_on_white = draw_digit("7", ink=0, background=255)
    answers = [post_raw(client, encode(image)).get_json()
               for image in (white_on_black, black_on_white)]
    assert answers[0]["input_image"] == answers[1]["input_image"]
    assert answers[0]["probabilities"] == pytest.approx(answers[1]["probabilities"], abs=1e-6)


def test_input_image_is_white_digit_on_black(client):
    seen = np.asarray(decode_data_url(assert_prediction(post_raw(client, PNG))["input_image"]))
    assert seen[0].max() == 0 and seen[:, 0].max() == 0 and seen.max() > 200


# --- no digit -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [Image.new("L", (280, 280), 255), Image.new("RGBA", (280, 280), (0, 0, 0, 0)),
     Image.new("L", (280, 280), 0)],
    ids=["white", "transparent", "black"],
)
def test_blank_image_is_no_digit_never_a_guess(client, image):
    response = post_raw(client, encode(image), query="?explain=1")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "no_digit"
    assert body["digit"] is None and body["confidence"] is None
    assert body["probabilities"] is None
    assert body["message"] == "No digit found: the image is blank."
    assert not np.asarray(decode_data_url(body["input_image"])).any()
    assert body["model"]["name"] and body["time_ms"] >= 0


# --- explain ------------------------------------------------------------------------------


def test_explain_adds_feature_maps_after_each_conv_relu(client, app):
    body = client.post("/predict?explain=1", json={"image": data_url(PNG)}).get_json()
    network = app.extensions["digits_predictor"].network
    convs = [i for i, spec in enumerate(network.spec()) if spec["type"] == "conv2d"]
    maps = body["feature_maps"]
    assert [entry["index"] for entry in maps] == convs
    for entry in maps:
        assert entry["layer"] == f"{entry['index']}:conv2d" and entry["description"]
        assert len(entry["maps"]) == entry["channels"]
        first = decode_data_url(entry["maps"][0])
        assert first.size == (entry["width"], entry["height"]) and first.mode == "L"


@pytest.mark.parametrize("value", ["0", "false"])
def test_explain_off(client, value):
    assert_prediction(client.post(f"/predict?explain={value}", json={"image": data_url(PNG)}))


@pytest.mark.parametrize("query", ["?explain=maybe", "?explain=", "?explain=1&explain=0"])
def test_explain_invalid_value(client, query):
    assert error_of(post_raw(client, PNG, query=query), 400) == "invalid_parameter"


# --- bad input ----------------------------------------------------------------------------


def _truncated_png() -> bytes:
    return PNG[: len(PNG) // 2]


def _corrupt_png() -> bytes:
    data = bytearray(PNG)
    idat = data.index(b"IDAT")
    data[idat + 8 : idat + 40] = bytes(32)  # zeros in the compressed stream
    return bytes(data)


def _png_with_size(width: int, height: int) -> bytes:
    """A tiny valid-looking PNG header declaring width x height (1-bit), one IDAT of zeros."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload)))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" + bytes((width + 7) // 8)
    compressor = zlib.compressobj(9)
    rows = min(height, 64)  # enough to look real; the decoder never gets this far
    idat = compressor.compress(row * rows) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def _png_with_text_bomb() -> bytes:
    """A small PNG whose zTXt chunk inflates to 64 MB."""
    payload = b"Comment\x00\x00" + zlib.compress(bytes(64 * 1024 * 1024), 9)
    chunk = (struct.pack(">I", len(payload)) + b"zTXt" + payload
             + struct.pack(">I", zlib.crc32(b"zTXt" + payload)))
    return PNG[:33] + chunk + PNG[33:]


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b"", "image/png", 400, "empty_body"),
        (b"this is not an image", "image/png", 422, "not_an_image"),
        (b"GIF89a\x01\x00", "image/gif", 422, None),
        (_truncated_png(), "image/png", 422, None),
        (_corrupt_png(), "image/png", 422, "corrupt_image"),
        (encode(DIGIT, "JPEG")[:300], "image/jpeg", 422, None),
        (encode(DIGIT, "TIFF"), "image/tiff", 415, None),
        (encode(DIGIT, "TIFF"), "image/png", 415, "unsupported_image_format"),
        (PNG, "text/plain", 415, "unsupported_media_type"),
        (PNG, "application/xml", 415, "unsupported_media_type"),
        (PNG, "", 415, "unsupported_media_type"),
        (_png_with_size(MAX_SIDE + 1, 8), "image/png", 413, "image_too_large"),
        (_png_with_size(20_000, 20_000), "image/png", 422, "decompression_bomb"),
        (_png_with_text_bomb(), "image/png", 422, "decompression_bomb"),
    ],
    ids=["empty", "text", "gif-header-only", "truncated-png", "corrupt-png", "truncated-jpeg",
         "tiff-type", "tiff-bytes", "text-type", "xml-type", "no-type", "too-wide", "bomb",
         "text-chunk-bomb"],
)
def test_bad_raw_bodies(client, data, content_type, status, code):
    got = error_of(post_raw(client, data, content_type), status)
    if code is not None:
        assert got == code


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "empty_body"),
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "missing_image"),
        (b'{"picture": "x"}', "missing_image"),
        (b'{"image": 7}', "invalid_image_field"),
        (b'{"image": ""}', "empty_image"),
        (b'{"image": "not base64!"}', "invalid_base64"),
        (b'{"image": "QUJD=QUJD"}', "invalid_base64"),
        (b'{"image": "QUJDR"}', "invalid_base64"),
        (b'{"image": "data:image/png,plain"}', "invalid_data_url"),
        (b'{"image": "data:image/png;base64"}', "invalid_data_url"),
        (b'{"image": "data:image/png;base64,@@@"}', "invalid_base64"),
    ],
)
def test_bad_json_bodies(client, body, code):
    assert error_of(post_raw(client, body, "application/json"), 400) == code


def test_json_data_url_of_non_image_type(client):
    response = client.post("/predict", json={"image": data_url(PNG, "text/html")})
    assert error_of(response, 415) == "unsupported_media_type"


def test_json_base64_of_non_image(client):
    response = client.post("/predict", json={"image": data_url(b"hello world")})
    assert error_of(response, 422) == "not_an_image"


def test_multipart_without_image_field(client):
    response = client.post("/predict", data={"file": (io.BytesIO(PNG), "digit.png")},
                           content_type="multipart/form-data")
    assert error_of(response, 400) == "missing_image"


def test_multipart_empty_file(client):
    response = client.post("/predict", data={"image": (io.BytesIO(b""), "digit.png")},
                           content_type="multipart/form-data")
    assert error_of(response, 400) == "empty_image"


def test_multipart_with_non_image_file(client):
    response = client.post("/predict", data={"image": (io.BytesIO(b"%!PS-Adobe"), "x.ps")},
                           content_type="multipart/form-data")
    assert error_of(response, 422) == "not_an_image"


def test_multipart_without_boundary(client):
    response = post_raw(client, PNG, "multipart/form-data")
    assert error_of(response, 400) == "missing_image"


@pytest.mark.parametrize("form", ["raw", "json", "multipart"])
def test_body_over_the_limit_is_413(client, app, form):
    big = bytes(app.config["MAX_CONTENT_LENGTH"] + 1)
    if form == "raw":
        response = post_raw(client, big)
    elif form == "json":
        response = client.post("/predict", json={"image": base64.b64encode(big).decode()})
    else:
        response = client.post("/predict", data={"image": (io.BytesIO(big), "big.png")},
                               content_type="multipart/form-data")
    assert error_of(response, 413) == "payload_too_large"


def test_random_and_mutated_bytes_never_give_500(client):
    rng = np.random.default_rng(0)
    samples = [rng.bytes(int(n)) for n in rng.integers(1, 3000, 20)]
    for fmt in ("PNG", "JPEG", "GIF", "BMP", "WEBP"):
        original = bytearray(encode(DIGIT if fmt != "JPEG" else DIGIT.convert("RGB"), fmt))
        for _ in range(12):
            mutated = bytearray(original)
            for position in rng.integers(0, len(mutated), 6):
                mutated[position] = int(rng.integers(0, 256))
            samples.append(bytes(mutated))
    for data in samples:
        response = post_raw(client, data)
        assert response.status_code in (200, 400, 413, 415, 422), response.status_code
        assert response.mimetype == "application/json"


# --- other routes, errors and headers ----------------------------------------------------


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_model_info(client, app):
    body = client.get("/api/model").get_json()
    predictor = app.extensions["digits_predictor"]
    assert body["name"] == predictor.name and body["version"] == predictor.version
    assert body["input_shape"] == [1, 28, 28]
    assert body["parameters"] == predictor.network.num_parameters() > 0
    assert body["architecture"] == predictor.network.spec()
    assert body["sha256"] == file_sha256(app.config["PARAMS_PATH"])
    assert body["test_accuracy"] is None or 0 < body["test_accuracy"] <= 1
    assert len(body["layers"]) == len(body["architecture"])


def test_index_page(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"


# (security headers on every kind of response: tests/test_security_headers.py)


def test_not_found_and_wrong_method_are_json(client):
    assert error_of(client.get("/api/nothing"), 404) == "not_found"
    response = client.get("/predict")
    assert error_of(response, 405) == "method_not_allowed"
    assert "POST" in response.headers["Allow"]
    assert error_of(client.post("/healthz"), 405) == "method_not_allowed"


def test_debug_is_off(app):
    assert not app.debug and not app.config["DEBUG"]


# --- start-up and parameter files ------------------------------------------------------------


def test_missing_params_file_stops_startup(tmp_path):
    with pytest.raises(StartupError, match=r"cannot start.*not loaded.*No such file"):
        create_app({"PARAMS_PATH": str(tmp_path / "missing.pkl")})


def test_unsafe_params_file_is_refused(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"format": "numpy-cnn-params", "x": Exploit()}))
    with pytest.raises(StartupError, match="refused"):
        create_app({"PARAMS_PATH": str(path)})


def test_params_path_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITS_PARAMS", str(tmp_path / "nope.pkl"))
    with pytest.raises(StartupError, match=r"nope\.pkl"):
        create_app()


@pytest.fixture(scope="module")
def batchnorm_client(tmp_path_factory):
    """The app serving a freshly initialised "default" preset (BatchNorm), with metrics.json."""
    folder = tmp_path_factory.mktemp("params")
    path = folder / "bn.pkl"
    save_params(path, build_preset("default"), "bn-test", {"mean": 0.1307, "std": 0.3081},
                {"version": "v-test"})
    (folder / "bn.metrics.json").write_text('{"test_accuracy": 0.9951}')
    return create_app({"PARAMS_PATH": str(path)}).test_client()


def test_any_architecture_batchnorm_preset(batchnorm_client):
    body = assert_prediction(batchnorm_client.post("/predict", json={"image": data_url(PNG)}))
    assert body["model"] == {"name": "bn-test", "version": "v-test"}
    maps = batchnorm_client.post("/predict?explain=1", data=PNG,
                                 content_type="image/png").get_json()["feature_maps"]
    spec = build_preset("default").spec()
    convs = [i for i, layer in enumerate(spec) if layer["type"] == "conv2d"]
    assert [m["index"] for m in maps] == convs
    assert [m["channels"] for m in maps] == [spec[i]["filters"] for i in convs]
    assert maps[0]["height"] == maps[0]["width"] == 28  # "same" padding keeps 28x28
    for entry in maps:  # conv -> batchnorm -> relu: the maps are after the ReLU
        relu = next(i for i in range(entry["index"], len(spec)) if spec[i]["type"] == "relu")
        assert f"after the ReLU at layer {relu}" in entry["description"]


def test_test_accuracy_falls_back_to_metrics_json(batchnorm_client):
    body = batchnorm_client.get("/api/model").get_json()
    assert body["test_accuracy"] == 0.9951 and body["version"] == "v-test"
    assert body["parameters"] == build_preset("default").num_parameters()


@pytest.mark.parametrize("content_type", ["image/png", "application/json"])
def test_chunked_body_over_the_limit_is_413_not_truncated(client, app, content_type):
    big = io.BytesIO(bytes(app.config["MAX_CONTENT_LENGTH"] + 10))
    response = client.post("/predict", input_stream=big, content_type=content_type,
                           headers={"Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert error_of(response, 413) == "payload_too_large"


def test_chunked_body_within_the_limit_is_read(client):
    response = client.post("/predict", input_stream=io.BytesIO(PNG), content_type="image/png",
                           headers={"Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert_prediction(response)


def test_chunked_body_exactly_at_the_limit_is_not_413(client, app):
    exact = io.BytesIO(bytes(app.config["MAX_CONTENT_LENGTH"]))
    response = client.post("/predict", input_stream=exact, content_type="image/png",
                           headers={"Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert error_of(response, 422) == "not_an_image"
