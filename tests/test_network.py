"""The Sequential container, presets, and learning on real MNIST."""

from __future__ import annotations

import numpy as np
import pytest

from model.inference import MNIST_NORMALIZATION, to_network_input
from model.losses import softmax_cross_entropy
from model.network import Sequential
from model.optim import make_optimizer
from model.presets import PRESETS, build_preset
from tests.gradcheck import numerical_gradient, relative_error


def test_seed_preset_is_the_seed_articles_network():
    net = build_preset("seed")
    assert [layer.type_name for layer in net.layers] == [
        "conv2d", "relu", "conv2d", "relu", "maxpool2d", "flatten", "dense", "relu", "dense",
    ]
    conv1, conv2, dense1, dense2 = (net.layers[i] for i in (0, 2, 6, 8))
    assert conv1.params["W"].shape == (8, 1, 5, 5)
    assert conv2.params["W"].shape == (8, 8, 5, 5)
    assert dense1.params["W"].shape == (800, 128)
    assert dense2.params["W"].shape == (128, 10)
    assert net.output_shape == (10,)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_build_and_run(name):
    net = build_preset(name)
    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32)
    probs = net.predict_proba(x)
    classes = 12 if name == "default" else 10  # default: also "not a digit", "several digits"
    assert probs.shape == (3, classes) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    assert net.predict(x).shape == (3,)


def test_whole_network_gradient_in_float64():
    arch = [
        {"type": "conv2d", "filters": 3, "kernel": 3, "padding": "same"},
        {"type": "batchnorm2d"},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel": 2},
        {"type": "conv2d", "filters": 2, "kernel": 2, "stride": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 5},
        {"type": "batchnorm1d"},
        {"type": "relu"},
        {"type": "dense", "units": 4},
    ]
    net = Sequential.from_spec(arch, (2, 8, 8), seed=3)
    for layer in net.layers:
        layer.astype(np.float64)
    net.train()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 2, 8, 8))
    y = rng.integers(0, 4, 4)

    def loss():
        return softmax_cross_entropy(net.forward(x), y)[0]

    _, dlogits = softmax_cross_entropy(net.forward(x), y)
    net.backward(dlogits)
    grads = {k: v.copy() for k, v in net.gradients().items()}
    for key, param in net.parameters().items():
        assert relative_error(grads[key], numerical_gradient(loss, param)) < 1e-6, key


def test_train_eval_modes_and_introspection():
    net = build_preset("default")
    x = np.random.default_rng(1).standard_normal((2, 1, 28, 28)).astype(np.float32)
    net.train()
    net.forward(x)
    with pytest.raises(RuntimeError):
        net.eval().backward(np.zeros((2, 12), np.float32))
    assert net.predict_proba(x).shape == (2, 12)
    acts = net.activations(x[0])
    assert len(acts) == len(net.layers)
    assert acts[0][0] == "0:conv2d" and acts[0][1].shape == (32, 28, 28)
    np.testing.assert_allclose(acts[-1][1], net.eval().forward(x[:1])[0], rtol=1e-5)
    assert net.num_parameters() == sum(p.size for p in net.parameters().values())
    assert set(net.gradients()) <= set(net.parameters())
    assert "0.W" in net.decayed_parameters() and "0.b" not in net.decayed_parameters()


def test_spec_round_trip_and_bad_specs():
    net = build_preset("seed")
    rebuilt = Sequential.from_spec(net.spec(), net.input_shape)
    assert rebuilt.spec() == net.spec()
    for bad in (
        [{"type": "teleport"}],
        [{"type": "dense", "units": 3}],  # dense on an image without flatten
        [{"type": "conv2d", "filters": 2, "kernel": 40}],  # kernel larger than the input
        [{"type": "conv2d", "filters": 2, "kernel": 3, "colour": "red"}],
    ):
        with pytest.raises(ValueError):
            Sequential.from_spec(bad, (1, 28, 28))


def test_seed_network_overfits_a_small_batch_of_real_digits(mnist):
    """Proof that forward, backward and the optimizer learn together."""
    x = to_network_input(mnist.train_images[:64], MNIST_NORMALIZATION)
    y = mnist.train_labels[:64].astype(np.int64)
    net = build_preset("seed", seed=0).train()
    opt = make_optimizer("momentum", net.parameters(), 0.01)
    losses = []
    for _ in range(300):
        loss, dlogits = softmax_cross_entropy(net.forward(x), y)
        net.backward(dlogits)
        opt.step(net.gradients())
        losses.append(loss)
    assert losses[-1] < 0.05 < losses[0]
    assert (net.predict(x) == y).mean() == 1.0


def test_feature_maps_name_each_convs_activation_after_its_relu():
    assert build_preset("seed").feature_map_sources() == [(0, 1), (2, 3)]
    assert build_preset("default").feature_map_sources() == [(0, 2), (4, 6), (8, 10)]
    arch = [
        {"type": "conv2d", "filters": 2, "kernel": 3},
        {"type": "conv2d", "filters": 3, "kernel": 3},  # no ReLU before the next conv
        {"type": "maxpool2d", "kernel": 2},
        {"type": "relu"},
        {"type": "flatten"},
    ]
    net = Sequential.from_spec(arch, (1, 9, 9))
    assert net.feature_map_sources() == [(0, 0), (1, 3)]
    x = np.random.default_rng(0).standard_normal((1, 9, 9)).astype(np.float32)
    first, second = net.feature_maps(x)
    assert not first.after_relu and first.maps.shape == (2, 7, 7)
    assert second.after_relu and second.maps.shape == (3, 2, 2) and (second.maps >= 0).all()
    np.testing.assert_array_equal(second.maps, net.activations(x)[3][1])


def test_a_relu_before_a_max_pool_runs_after_it():
    net = build_preset("default")
    order = net.execution_order
    assert order[:12] == [0, 1, 3, 2, 4, 5, 7, 6, 8, 9, 11, 10]
    assert order[12:] == list(range(12, len(net.layers)))
    lone = Sequential.from_spec([{"type": "relu"}, {"type": "maxpool2d", "kernel": 2}], (1, 4, 4))
    assert lone.execution_order == [0, 1]  # the first layer stays first


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_swap_changes_no_number(name, mnist):
    """Logits, loss and every gradient are bit for bit those of the spec's order, on real
    digits, whose blank paper makes many max-pool windows of equal values (ties at zero
    after the ReLU, and equal positive values before it)."""
    x = to_network_input(mnist.train_images[:16], MNIST_NORMALIZATION)
    y = mnist.train_labels[:16].astype(np.int64)
    results = []
    for swapped in (True, False):
        net = build_preset(name, seed=2).train()
        if not swapped:
            net.execution_order = list(range(len(net.layers)))
        logits = net.forward(x)
        loss, dlogits = softmax_cross_entropy(logits, y)
        net.backward(dlogits)
        results.append((logits, loss, {k: v.copy() for k, v in net.gradients().items()}))
    (logits_a, loss_a, grads_a), (logits_b, loss_b, grads_b) = results
    np.testing.assert_array_equal(logits_a, logits_b)
    assert loss_a == loss_b
    for key in grads_a:
        np.testing.assert_array_equal(grads_a[key], grads_b[key], err_msg=key)


def test_a_conv_feeding_a_flat_grid_conv_writes_channel_major_memory():
    seed, default = build_preset("seed"), build_preset("default")
    assert [seed.layers[i].output_layout.name for i in (0, 2)] == ["channel-major", "batch-last"]
    assert {default.layers[i].output_layout.name for i in (0, 4, 8)} == {"batch-last"}
    x = np.random.default_rng(0).standard_normal((8, 1, 28, 28)).astype(np.float32)
    out, _ = seed.layers[0].forward(x, training=True)
    assert out.transpose(1, 0, 2, 3).flags.c_contiguous  # (C, N, H, W) underneath
