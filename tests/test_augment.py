"""Image augmentation: the kernels against the NumPy reference (float32 and
float64, one and two threads bitwise), finite-difference checks of their
backward maps, and the layers: active in fit only, seeded from the model's
generator, the identity (RandomCrop: a centre crop) in evaluate and
predict, saved and loaded with the model."""
import numpy as np
import pytest

import entrena
from entrena import _core
from entrena.reference import augment as ref

from helpers import check_gradient, check_kernel

K = _core.kernels


def _images(rng, n=5, C=2, H=7, W=6):
    return rng.normal(size=(n, C, H, W))


def test_flip_matches_reference(dtype, rng, threads):
    x = _images(rng)
    fh, fv = np.array([0, 1, 0, 1, 1], np.uint8), np.array([0, 0, 1, 1, 0], np.uint8)
    for nt in (1, 2):
        _core.set_num_threads(nt)
        check_kernel(lambda a: K.flip_forward(a, fh, fv), lambda a: ref.flip_forward(a, fh, fv), [x], dtype)


@pytest.mark.parametrize("Ho,Wo", [(7, 6), (4, 5), (9, 9)])
def test_shift_matches_reference_and_is_the_transpose(dtype, rng, Ho, Wo, threads):
    x = _images(rng)
    oh, ow = np.array([0, -3, 2, 8, -1]), np.array([1, 0, -6, 2, 3])
    dy = rng.normal(size=(5, 2, Ho, Wo))
    for nt in (1, 2):
        _core.set_num_threads(nt)
        check_kernel(lambda a: K.shift_forward(a, Ho, Wo, oh, ow), lambda a: ref.shift_forward(a, Ho, Wo, oh, ow),
                     [x], dtype)
        check_kernel(lambda g: K.shift_backward(g, 7, 6, oh, ow), lambda g: ref.shift_backward(g, 7, 6, oh, ow),
                     [dy], dtype)
    # <shift(x), dy> == <x, shift^T(dy)>: the backward is the transposed map.
    lhs = np.sum(K.shift_forward(x, Ho, Wo, oh, ow) * dy)
    assert lhs == pytest.approx(np.sum(x * K.shift_backward(dy, 7, 6, oh, ow)), rel=1e-12)


def test_rotation_matches_reference_and_finite_differences(dtype, rng, threads):
    x = _images(rng, n=3, H=6, W=5)
    angle = np.array([0.0, 0.3, -1.1])
    dy = rng.normal(size=x.shape)
    for nt in (1, 2):
        _core.set_num_threads(nt)
        check_kernel(lambda a: K.rotate_forward(a, angle), lambda a: ref.rotate_forward(a, angle), [x], dtype)
        check_kernel(lambda g: K.rotate_backward(g, angle), lambda g: ref.rotate_backward(g, angle), [dy], dtype)
    np.testing.assert_array_equal(K.rotate_forward(x, np.zeros(3)), x)   # angle 0: the identity
    check_gradient(lambda v: (K.rotate_forward(v, angle) * dy).sum(), K.rotate_backward(dy, angle), x)


def test_kernel_bad_input():
    with pytest.raises(ValueError, match="x: expected images"):
        K.flip_forward(np.zeros((2, 3)), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match=r"angle: expected shape \(2,\)"):
        K.rotate_forward(np.zeros((2, 1, 3, 3)), np.zeros(3))


def _model(layer, seed=0):
    m = entrena.Sequential([layer, entrena.Flatten(), entrena.Dense(3)], input_shape=(2, 8, 8), seed=seed,
                           dtype="float64")
    m.compile(loss="mse", optimizer=entrena.SGD(lr=0.0))
    return m


AUGMENTS = [
    lambda: entrena.RandomFlip(),
    lambda: entrena.RandomTranslation(0.25, 0.25),
    lambda: entrena.RandomCrop(8, 8, padding=2),
    lambda: entrena.RandomRotation(0.1),
    lambda: entrena.GaussianNoise(0.5),
]


@pytest.mark.parametrize("make", AUGMENTS, ids=["flip", "translation", "crop", "rotation", "noise"])
def test_augmentation_only_in_training_and_seeded(make, tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(16, 2, 8, 8))
    m = _model(make())
    # Inference: the layer is the identity.
    W, b = m.parameters()
    np.testing.assert_allclose(m.predict(X), X.reshape(16, -1) @ W + b, rtol=1e-12)
    # Training mode: different outputs, the same for the same generator state.
    m.train()
    out1 = np.asarray(m(X))
    out2 = np.asarray(m(X))
    assert not np.allclose(out1, out2)
    again = _model(make())
    again.train()
    np.testing.assert_array_equal(np.asarray(again(X)), out1)
    # The gradient goes back through the map drawn in the forward pass.
    m.eval()
    assert max(entrena.gradcheck(m, X[:4], rng.normal(size=(4, 3)), loss="mse").values()) < 1e-6
    path = tmp_path / "aug.safetensors"
    m.save(path)
    np.testing.assert_array_equal(entrena.load(path).predict(X), m.predict(X))


def test_backward_in_training_mode_is_the_transpose():
    """With the map fixed by one forward pass, <map(x), dy> == <x, map^T(dy)>."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(4, 1, 6, 6))
    for layer in (entrena.RandomFlip(), entrena.RandomTranslation(0.3, 0.3), entrena.RandomRotation(0.2),
                  entrena.RandomCrop(5, 4, padding=1)):
        m = entrena.Sequential([layer], input_shape=(1, 6, 6), seed=2, dtype="float64")
        m.train()
        out = np.asarray(m(X))
        dy = rng.normal(size=out.shape)
        m.zero_grad()
        # The first layer's input gradient is not computed by the model; the map's is checked through
        # a second layer in front of it instead.
        front = entrena.Sequential([entrena.Dense(6), layer.__class__(**layer.get_config())],
                                   input_shape=(1, 6, 6), seed=2, dtype="float64")
        front.train()
        y = np.asarray(front(X))
        front.zero_grad()
        front.backward(dy)
        gW = front.gradients()[0][1]
        # d<out, dy>/dW by finite differences at the same augmentation (same seed, same draws).
        W = front.parameters()[0]
        eps, i = 1e-6, (2, 3)
        W0 = W[i]
        vals = []
        for d in (eps, -eps):
            W[i] = W0 + d
            check = entrena.Sequential([entrena.Dense(6), layer.__class__(**layer.get_config())],
                                       input_shape=(1, 6, 6), seed=2, dtype="float64")
            check.load_state_dict(front.state_dict())
            check.train()
            vals.append(float((np.asarray(check(X)) * dy).sum()))
        W[i] = W0
        assert gW[i] == pytest.approx((vals[0] - vals[1]) / (2 * eps), rel=1e-6, abs=1e-8)
        assert y.shape == out.shape


def test_crop_changes_the_shape_and_is_central_in_inference():
    x = np.arange(2 * 1 * 6 * 6, dtype=np.float64).reshape(2, 1, 6, 6)
    m = entrena.Sequential([entrena.RandomCrop(4, 2, padding=0)], input_shape=(1, 6, 6), dtype="float64")
    assert m.output_shape == (1, 4, 2)
    np.testing.assert_array_equal(m.predict(x), x[:, :, 1:5, 2:4])


def test_augmentation_arguments():
    with pytest.raises(ValueError, match="mode: expected one of 'horizontal', 'vertical'"):
        entrena.RandomFlip("diagonal")
    with pytest.raises(ValueError, match="height_factor: expected a finite number in \\[-1, 1\\]"):
        entrena.RandomTranslation(1.5, 0.1)
    with pytest.raises(ValueError, match="lower <= upper"):
        entrena.RandomRotation((0.2, -0.2))
    with pytest.raises(ValueError, match="stddev: expected a finite number >= 0"):
        entrena.GaussianNoise(-1)
    with pytest.raises(ValueError, match="RandomCrop: a 9 x 9 crop does not fit 6 x 6 images padded by 1"):
        entrena.Sequential([entrena.RandomCrop(9, 9, padding=1)], input_shape=(1, 6, 6))
    with pytest.raises(ValueError, match="RandomFlip: expected images of shape \\(n, C, H, W\\)"):
        entrena.Sequential([entrena.RandomFlip()], input_shape=(6,))
