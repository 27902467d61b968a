"""Every layer: forward against naive loops, backward against numerical gradients (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from model.conv_ops import BATCH_LAST, CHANNEL_MAJOR
from model.layers import (
    BatchNorm1D,
    BatchNorm2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    ReLU,
)
from tests.gradcheck import check_layer

TOL = 1e-6


def naive_conv(x, W, b, stride, pad):
    """Reference cross-correlation with explicit loops over every output pixel."""
    (ph0, ph1), (pw0, pw1) = pad
    xp = np.pad(x, ((0, 0), (0, 0), (ph0, ph1), (pw0, pw1)))
    n, _, h, w = xp.shape
    f, _, kh, kw = W.shape
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    out = np.zeros((n, f, oh, ow))
    for i in range(n):
        for k in range(f):
            for y in range(oh):
                for z in range(ow):
                    patch = xp[i, :, y * stride : y * stride + kh, z * stride : z * stride + kw]
                    out[i, k, y, z] = np.sum(patch * W[k]) + b[k]
    return out


def naive_maxpool(x, k, s):
    n, c, h, w = x.shape
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    out = np.zeros((n, c, oh, ow))
    for y in range(oh):
        for z in range(ow):
            out[:, :, y, z] = x[:, :, y * s : y * s + k, z * s : z * s + k].max(axis=(2, 3))
    return out


CONV_CASES = [
    # (N, C, H, W, F, K, stride, padding)
    (2, 3, 7, 7, 4, 3, 1, "valid"),
    (2, 3, 7, 7, 4, 3, 1, "same"),
    (2, 2, 9, 8, 3, 5, 1, "same"),
    (2, 3, 8, 7, 2, 3, 2, "same"),
    (1, 2, 9, 9, 3, 3, 2, 1),
    (2, 1, 6, 7, 2, 2, 3, 0),
    (2, 2, 5, 5, 2, 4, 1, "same"),  # even kernel: asymmetric same padding
    (1, 2, 6, 6, 2, 3, 1, 3),  # padding beyond K-1 takes the scatter path
]


ALGORITHMS = ["im2col", "grid"]


def conv_layer(c, f, k, stride, padding, rng, algorithm):
    """A float64 Conv2D forced to ``algorithm`` (skips grid for strided convs)."""
    if algorithm == "grid" and stride != 1:
        pytest.skip("the flat-grid algorithm is for stride 1 only")
    layer = Conv2D(c, f, k, stride, padding, rng=rng).astype(np.float64)
    layer.algorithm = algorithm
    return layer


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(("n", "c", "h", "w", "f", "k", "stride", "padding"), CONV_CASES)
def test_conv_forward_matches_naive_loops(n, c, h, w, f, k, stride, padding, algorithm):
    rng = np.random.default_rng(1)
    layer = conv_layer(c, f, k, stride, padding, rng, algorithm)
    layer.params["b"] = rng.standard_normal(f)
    x = rng.standard_normal((n, c, h, w))
    out, _ = layer.forward(x)
    pads = (layer._pads(h), layer._pads(w))
    expected = naive_conv(x, layer.params["W"], layer.params["b"], stride, pads)
    assert out.shape == expected.shape == (n, *layer.output_shape((c, h, w)))
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


def test_same_padding_keeps_size_at_stride_one_and_ceils_at_stride_two():
    assert Conv2D(1, 1, 3, 1, "same").output_shape((1, 28, 28)) == (1, 28, 28)
    assert Conv2D(1, 1, 4, 1, "same").output_shape((1, 7, 9)) == (1, 7, 9)
    assert Conv2D(1, 1, 3, 2, "same").output_shape((1, 7, 8)) == (1, 4, 4)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(("n", "c", "h", "w", "f", "k", "stride", "padding"), CONV_CASES)
def test_conv_gradients(n, c, h, w, f, k, stride, padding, algorithm):
    rng = np.random.default_rng(2)
    layer = conv_layer(c, f, k, stride, padding, rng, algorithm)
    errors = check_layer(layer, rng.standard_normal((n, c, h, w)))
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_conv_grid_chunks_and_input_layouts_agree(monkeypatch, algorithm):
    """Tiny chunks (one image each) and a channel-major input give the same results, and a
    first layer (no input gradient wanted) still gets its weight gradients."""
    import model.layers.conv as conv_module

    rng = np.random.default_rng(12)
    x = rng.standard_normal((5, 4, 9, 9))
    dout = rng.standard_normal((5, 6, 9, 9))
    layer = conv_layer(4, 6, 3, 1, "same", rng, algorithm)
    out, cache = layer.forward(x, True)
    dx = layer.backward(dout, cache)
    grads = {k: v.copy() for k, v in layer.grads.items()}
    monkeypatch.setattr(conv_module, "GRID_CHUNK_BYTES", 1)
    channel_major = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    out2, cache2 = layer.forward(channel_major, True)
    np.testing.assert_allclose(out2, out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.backward(dout, cache2), dx, rtol=1e-12, atol=1e-12)
    layer.needs_input_grad = False
    assert layer.backward(dout, layer.forward(x, True)[1]) is None
    for key, value in grads.items():
        np.testing.assert_allclose(layer.grads[key], value, rtol=1e-12, atol=1e-12)


def test_conv_automatic_algorithm_by_shape():
    assert Conv2D(8, 8, 5).forward_algorithm(16) == "grid"  # the seed net's second conv
    assert Conv2D(8, 8, 5).forward_algorithm(1) == "im2col"  # one image
    assert Conv2D(1, 32, 5).forward_algorithm(16) == "im2col"  # one input channel
    assert Conv2D(32, 64, 3).forward_algorithm(16) == "im2col"  # many channels
    assert Conv2D(8, 8, 3, stride=2).forward_algorithm(16) == "im2col"


@pytest.mark.parametrize(
    ("k", "s", "h", "w"), [(2, 2, 6, 8), (2, 2, 7, 5), (3, 2, 7, 7), (3, 1, 5, 6)]
)
def test_maxpool_forward_matches_naive_and_gradients(k, s, h, w):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, h, w))
    layer = MaxPool2D(k, s)
    out, _ = layer.forward(x)
    np.testing.assert_array_equal(out, naive_maxpool(x, k, s))
    errors = check_layer(layer, x)
    assert errors["x"] < TOL, errors


def test_maxpool_routes_ties_to_one_input():
    x = np.zeros((1, 1, 2, 2))
    layer = MaxPool2D(2)
    out, cache = layer.forward(x)
    dx = layer.backward(np.ones_like(out), cache)
    assert dx.sum() == 1.0


@pytest.mark.parametrize("shape", [(4, 7), (3, 2, 5, 4)])
def test_relu_gradient(shape):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape)
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink, where the derivative is undefined
    assert check_layer(ReLU(), x)["x"] < TOL


def test_dense_gradients():
    rng = np.random.default_rng(5)
    layer = Dense(7, 5, rng=rng).astype(np.float64)
    layer.params["b"] = rng.standard_normal(5)
    errors = check_layer(layer, rng.standard_normal((4, 7)))
    assert max(errors.values()) < TOL, errors


def test_flatten_round_trip():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    layer = Flatten()
    out, cache = layer.forward(x)
    assert out.shape == (2, 60)
    np.testing.assert_array_equal(layer.backward(out, cache), x)


@pytest.mark.parametrize(
    ("layer_cls", "shape"), [(BatchNorm1D, (6, 4)), (BatchNorm2D, (3, 4, 5, 3))]
)
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients(layer_cls, shape, training):
    rng = np.random.default_rng(6)
    layer = layer_cls(shape[1]).astype(np.float64)
    layer.params["gamma"] = rng.uniform(0.5, 1.5, shape[1])
    layer.params["beta"] = rng.standard_normal(shape[1])
    layer.buffers["running_mean"] = rng.standard_normal(shape[1])
    layer.buffers["running_var"] = rng.uniform(0.5, 2, shape[1])
    x = rng.standard_normal(shape) * 2 + 1
    saved = {k: v.copy() for k, v in layer.buffers.items()}
    errors = check_layer(layer, x, training=training)
    assert max(errors.values()) < TOL, errors
    if not training:  # inference never touches the running statistics
        for k, v in saved.items():
            np.testing.assert_array_equal(layer.buffers[k], v)


def test_batchnorm_normalises_in_training_and_tracks_running_stats():
    rng = np.random.default_rng(7)
    layer = BatchNorm2D(3, momentum=0.0)
    x = (rng.standard_normal((64, 3, 5, 5)) * 3 + 2).astype(np.float32)
    out, _ = layer.forward(x, training=True)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-3)
    np.testing.assert_allclose(layer.buffers["running_mean"], x.mean(axis=(0, 2, 3)), rtol=1e-5)
    inference, _ = layer.forward(x, training=False)
    np.testing.assert_allclose(inference, out, atol=1e-2)  # running stats == batch stats here


def test_dropout_is_inverted_and_identity_at_inference():
    rng = np.random.default_rng(8)
    layer = Dropout(0.25, rng=rng)
    x = np.ones((200, 50), dtype=np.float32)
    out, cache = layer.forward(x, training=True)
    kept = out != 0
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_allclose(out[kept], 1 / 0.75)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x), cache), out)
    same, _ = layer.forward(x, training=False)
    np.testing.assert_array_equal(same, x)


def test_layers_keep_float32():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 1, 8, 8)).astype(np.float32)
    for layer in (Conv2D(1, 2, 3, 1, "same", rng=rng), BatchNorm2D(1), MaxPool2D(2), ReLU()):
        out, cache = layer.forward(x, training=True)
        assert out.dtype == np.float32, layer
        dx = layer.backward(np.ones_like(out), cache)
        assert dx.dtype == np.float32, layer


class FixedMaskDropout(Dropout):
    """Dropout that draws the same mask on every forward call, so that finite differences
    of its output are differences of one function."""

    def forward(self, x, training=False):
        self.rng = np.random.default_rng(11)
        return super().forward(x, training)


@pytest.mark.parametrize("shape", [(5, 9), (2, 3, 4, 5)])
def test_dropout_and_flatten_gradients(shape):
    x = np.random.default_rng(10).standard_normal(shape)
    dropout = FixedMaskDropout(0.4)
    assert check_layer(dropout, x, training=True)["x"] < TOL
    out, _ = dropout.forward(x, training=True)
    assert (out == 0).any()  # the check really went through a mask
    assert check_layer(Flatten(), x)["x"] < TOL


def _memory_layouts(x):
    """x (N, C, H, W) as views of batch-first, channel-major and batch-last memory."""
    channel_major = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    batch_last = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    return {"batch-first": np.ascontiguousarray(x), "channel-major": channel_major,
            "batch-last": batch_last}


@pytest.mark.parametrize(("algorithm", "output_layout"),
                         [("im2col", BATCH_LAST), ("im2col", CHANNEL_MAJOR), ("grid", None)])
def test_conv_gives_the_same_numbers_in_every_input_layout(algorithm, output_layout):
    """Layers hand each other views of different memory layouts: the answer must not
    depend on it (nor on the layout an im2col pass writes), and the grid hands a
    batch-last input's gradient back batch-last."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((5, 3, 9, 8)).astype(np.float32)
    results = {}
    for name, view in _memory_layouts(x).items():
        layer = Conv2D(3, 4, 3, 1, "same", rng=np.random.default_rng(1))
        layer.algorithm = algorithm
        if output_layout is not None:
            layer.output_layout = output_layout
        out, cache = layer.forward(view, training=True)
        dout = np.random.default_rng(2).standard_normal(out.shape).astype(np.float32)
        dx = layer.backward(dout, cache)
        results[name] = (out, dx, layer.grads["W"], layer.grads["b"])
        if output_layout is not None:  # the output, and the input gradient's memory order
            assert output_layout.holds(out)
            assert tuple(np.argsort(dx.strides)[::-1]) == output_layout.order
        if algorithm == "grid" and name == "batch-last":
            assert BATCH_LAST.holds(dx)
    reference = results.pop("batch-first")
    for name, result in results.items():
        for got, want in zip(result, reference, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=name)


def test_flatten_hands_the_gradient_back_in_its_inputs_layout():
    x = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)
    layer = Flatten()
    for name, view in _memory_layouts(x).items():
        out, cache = layer.forward(view)
        np.testing.assert_array_equal(out, x.reshape(2, -1))
        dx = layer.backward(out * 2, cache)
        np.testing.assert_array_equal(dx, 2 * x)
        assert dx.strides == view.strides, name
