"""entrena.interop's PyTorch bridge: ``to_torch(model)`` and ``from_torch(module)``.

- to_torch for every layer type and activation (float32 and float64): the
  eval-mode PyTorch module computes what ``model.predict`` computes, with
  running statistics, gammas, betas, biases and Normalization statistics
  moved away from their initial values so that they matter.
- from_torch for nn.Sequential models of every supported module (seeded
  PyTorch init, BatchNorm in eval mode with changed running statistics,
  stacked bidirectional nn.LSTM / nn.GRU): entrena's predict is PyTorch's
  eval output.
- Round trips: from_torch(to_torch(m)) has m's tensors bit for bit and its
  outputs; to_torch(from_torch(t)) computes what t computes.
- Training: five full-batch Adam steps of an MLP, a small CNN (with
  BatchNorm) and an LSTM model, weights copied both ways, in float64: the
  epoch losses and the final weights agree with torch.optim.Adam.
- Errors: what has no counterpart is a ValueError naming the module or
  argument; masks warn in to_torch.
"""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import entrena  # noqa: E402
from entrena import layers as L  # noqa: E402
from entrena.interop import from_torch, to_torch  # noqa: E402

nn = torch.nn

# PyTorch's note on padding="same" with an even kernel (it pads a copy).
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")

TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-12)}
TORCH_DTYPE = {"float32": torch.float32, "float64": torch.float64}
DTYPES = ["float32", "float64"]


# ------------------------------------------------------------------ helpers
def _x(rng, shape, dtype, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


def _ids(rng, shape, vocab, low=0):
    return rng.integers(low, vocab, size=shape).astype(np.float64)


def _perturb(model, rng):
    """Moves every parameter and buffer away from its initial value (biases
    and betas start at zero, gammas at one, running statistics at 0 / 1):
    through load_state_dict, so the model counts as trained. Normalization's
    statistics come from adapt and stay."""
    state = model.state_dict()
    for name, v in state.items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf in ("mean", "variance"):
            continue
        if leaf == "running_var":
            state[name] = rng.uniform(0.5, 2.0, v.shape)
        elif leaf == "running_mean":
            state[name] = v + 0.5 * rng.standard_normal(v.shape)
        elif leaf == "gamma":
            state[name] = 1.0 + 0.3 * rng.standard_normal(v.shape)
        else:
            state[name] = v + 0.1 * rng.standard_normal(v.shape)
    model.load_state_dict(state)


def _torch_forward(module, x):
    """module(x) for an nn.Sequential whose recurrent modules (nn.RNN, LSTM,
    GRU, which return (output, state)) stand for their output sequence."""
    mods = list(module) if isinstance(module, nn.Sequential) else [module]
    for m in mods:
        if isinstance(m, nn.Sequential):
            x = _torch_forward(m, x)
        elif type(m) in (nn.RNN, nn.LSTM, nn.GRU):
            x = m(x)[0]
        else:
            x = m(x)
    return x


def _run_torch(module, x):
    with torch.no_grad():
        return _torch_forward(module, torch.from_numpy(np.ascontiguousarray(x))).numpy()


def _state_values(model):
    return list(model.state_dict().values())


def _assert_same_tensors(a, b):
    va, vb = _state_values(a), _state_values(b)
    assert len(va) == len(vb), (list(a.state_dict()), list(b.state_dict()))
    for i, (x, y) in enumerate(zip(va, vb)):
        assert x.shape == y.shape, (i, x.shape, y.shape)
        assert x.dtype == y.dtype, (i, x.dtype, y.dtype)
        np.testing.assert_array_equal(x, y, err_msg=f"tensor {i}: {list(a.state_dict())[i]}")


# ------------------------------------------------ entrena models (to_torch)
ACTIVATIONS = ["relu", "sigmoid", "tanh", "silu", "softplus", "leaky_relu", "elu", "gelu", "gelu_tanh",
               "softmax", "log_softmax", "linear", "identity"]
ACTIVATION_LAYERS = {
    "ReLU": lambda: L.ReLU(), "Sigmoid": lambda: L.Sigmoid(), "Tanh": lambda: L.Tanh(), "SiLU": lambda: L.SiLU(),
    "Softplus": lambda: L.Softplus(), "Softmax": lambda: L.Softmax(), "LogSoftmax": lambda: L.LogSoftmax(),
    "LeakyReLU": lambda: L.LeakyReLU(0.2), "LeakyReLU_default": lambda: L.LeakyReLU(),
    "ELU": lambda: L.ELU(0.7), "ELU_default": lambda: L.ELU(), "GELU": lambda: L.GELU(),
    "GELU_tanh": lambda: L.GELU("tanh"),
}


def _rnn(kind, units, **kw):
    if kind.startswith("rnn_"):
        return L.SimpleRNN(units, activation=kind[4:], **kw)
    return {"lstm": L.LSTM, "gru": L.GRU}[kind](units, **kw)


# name -> () -> (layers, input_shape, x(rng, dtype)); every model gets _perturb.
def _cases():
    cases = {}
    for act in ACTIVATIONS:
        cases[f"dense_{act}"] = lambda act=act: (
            [L.Dense(5, activation=act), L.Dense(4, activation=act, use_bias=False)], (3,),
            lambda rng, dt: _x(rng, (6, 3), dt, 2.0))
    for name, make in ACTIVATION_LAYERS.items():
        # Alone on the input, over a wide range (Softplus' threshold at 20, ...).
        cases[f"layer_{name}"] = lambda make=make: (
            [make()], (7,), lambda rng, dt: _x(rng, (5, 7), dt, 12.0))
    cases["activation_layers_on_3d"] = lambda: (
        [L.Dense(4), L.Activation("elu", alpha=0.3), L.Activation("leaky_relu", alpha=0.05),
         L.Activation("linear"), L.Softmax()], (3, 2), lambda rng, dt: _x(rng, (4, 3, 2), dt))
    cases["conv_activations"] = lambda: (
        [L.Conv2D(3, 3, activation="leaky_relu", alpha=0.1), L.Conv2D(2, 2, activation="elu"), L.Flatten(),
         L.Dense(3, activation="softmax")], (2, 6, 5), lambda rng, dt: _x(rng, (3, 2, 6, 5), dt))
    cases["dropout"] = lambda: (
        [L.Dense(6, activation="relu"), L.Dropout(0.5), L.Dense(2)], (4,), lambda rng, dt: _x(rng, (5, 4), dt))
    cases["gaussian_noise"] = lambda: (
        [L.Dense(6), L.GaussianNoise(0.3), L.Dense(2)], (4,), lambda rng, dt: _x(rng, (5, 4), dt))
    cases["flatten_reshape"] = lambda: (
        [L.Reshape((3, 4)), L.Dense(2), L.Flatten(), L.Reshape((2, -1)), L.Dense(3)], (12,),
        lambda rng, dt: _x(rng, (4, 12), dt))
    cases["normalization"] = lambda: (
        [L.Normalization(), L.Dense(3, activation="tanh"), L.Normalization(), L.Dense(2)], (5,),
        lambda rng, dt: _x(rng, (6, 5), dt, 3.0))
    cases["conv1d"] = lambda: (
        [L.Conv1D(4, 3), L.Conv1D(3, 2, padding=1, activation="relu"), L.Conv1D(3, 3, padding="same", dilation_rate=2),
         L.Conv1D(3, 3, padding="same", strides=3, groups=3), L.Conv1D(2, 1, use_bias=False),
         L.Flatten(), L.Dense(2)], (2, 11), lambda rng, dt: _x(rng, (3, 2, 11), dt))
    # "same" with uneven pads (an even kernel; stride 2): nn.ZeroPad1d, then the convolution.
    cases["conv1d_same_uneven_pads"] = lambda: (
        [L.Conv1D(3, 4, padding="same"), L.Conv1D(3, 3, strides=2, padding="same", groups=3),
         L.Conv1D(2, 3, strides=3, padding="same")], (2, 10), lambda rng, dt: _x(rng, (3, 2, 10), dt))
    cases["conv2d_same_stride2"] = lambda: (
        [L.Conv2D(4, 3, strides=2, padding="same", activation="relu"), L.Conv2D(3, (2, 3), padding="same"),
         L.Conv2D(2, 3, strides=(1, 2), padding="same")], (3, 9, 8), lambda rng, dt: _x(rng, (2, 3, 9, 8), dt))
    cases["conv2d_padding_dilation_groups"] = lambda: (
        [L.Conv2D(4, (3, 2), padding=(2, 1), dilation_rate=(1, 2)), L.Conv2D(4, 3, groups=4, strides=2),
         L.Conv2D(2, 1, use_bias=False, activation="sigmoid"), L.Conv2D(2, 3, padding="same", dilation_rate=2)],
        (2, 10, 9), lambda rng, dt: _x(rng, (2, 2, 10, 9), dt))
    for kind in ("Max", "Avg"):
        cases[f"{kind.lower()}pool_valid"] = lambda kind=kind: (
            [getattr(L, f"{kind}Pool2D")(2), getattr(L, f"{kind}Pool2D")((2, 3), strides=(1, 2)),
             L.Reshape((3, -1)), getattr(L, f"{kind}Pool1D")(3, strides=2)], (3, 9, 11),
            lambda rng, dt: _x(rng, (4, 3, 9, 11), dt))
        cases[f"{kind.lower()}pool_same"] = lambda kind=kind: (
            [getattr(L, f"{kind}Pool2D")(3, strides=2, padding="same"),
             getattr(L, f"{kind}Pool2D")((2, 3), strides=(1, 1), padding="same"),
             L.Reshape((2, -1)), getattr(L, f"{kind}Pool1D")(4, strides=3, padding="same")], (2, 7, 6),
            lambda rng, dt: _x(rng, (3, 2, 7, 6), dt))
    cases["global_pooling"] = lambda: (
        [L.Conv2D(3, 2), L.GlobalMaxPooling2D(), L.Reshape((1, 3)), L.GlobalAveragePooling1D()], (2, 5, 4),
        lambda rng, dt: _x(rng, (3, 2, 5, 4), dt))
    cases["global_pooling_2"] = lambda: (
        [L.Conv2D(3, 2), L.GlobalAveragePooling2D(), L.Reshape((3, 1)), L.GlobalMaxPooling1D()], (2, 5, 4),
        lambda rng, dt: _x(rng, (3, 2, 5, 4), dt))
    cases["zero_padding"] = lambda: (
        [L.ZeroPadding2D(((1, 2), (0, 3))), L.Conv2D(2, 2), L.ZeroPadding2D(1), L.ZeroPadding2D((2, 0))],
        (2, 4, 3), lambda rng, dt: _x(rng, (2, 2, 4, 3), dt))
    cases["batchnorm"] = lambda: (
        [L.Conv2D(3, 2), L.BatchNormalization(momentum=0.2, eps=1e-3), L.Reshape((3, -1)),
         L.BatchNormalization(center=False, scale=False), L.Flatten(), L.Dense(4), L.BatchNormalization()],
        (2, 5, 4), lambda rng, dt: _x(rng, (5, 2, 5, 4), dt))
    cases["layernorm"] = lambda: (
        [L.Dense(6), L.LayerNormalization(), L.Dense(5), L.LayerNormalization(eps=1e-3, center=False),
         L.LayerNormalization(center=False, scale=False)], (2, 3), lambda rng, dt: _x(rng, (4, 2, 3), dt))
    cases["embedding"] = lambda: (
        [L.Embedding(7, 3), L.Flatten(), L.Dense(2)], (5,), lambda rng, dt: _ids(rng, (4, 5), 7).astype(dt))
    for kind in ("rnn_tanh", "rnn_relu", "lstm", "gru"):
        for seq in (True, False):
            for back in (False, True):
                cases[f"{kind}_seq{int(seq)}_back{int(back)}"] = lambda kind=kind, seq=seq, back=back: (
                    [_rnn(kind, 4, return_sequences=seq, go_backwards=back), L.Dense(2)], (5, 3),
                    lambda rng, dt: _x(rng, (3, 5, 3), dt))
        cases[f"{kind}_no_bias"] = lambda kind=kind: (
            [_rnn(kind, 3, return_sequences=True, use_bias=False), _rnn(kind, 2, use_bias=False)], (4, 2),
            lambda rng, dt: _x(rng, (3, 4, 2), dt))
        for merge in ("concat", "sum", "mul", "ave"):
            for seq in (True, False):
                cases[f"bidirectional_{kind}_{merge}_seq{int(seq)}"] = lambda kind=kind, merge=merge, seq=seq: (
                    [L.Bidirectional(_rnn(kind, 3, return_sequences=seq), merge_mode=merge), L.Dense(2)],
                    (5, 2), lambda rng, dt: _x(rng, (3, 5, 2), dt))
    cases["embedding_stacked_recurrent"] = lambda: (
        [L.Embedding(9, 4), L.Bidirectional(L.LSTM(3, return_sequences=True)),
         L.GRU(3, return_sequences=True, go_backwards=True), L.SimpleRNN(2), L.Dense(2, activation="softmax")],
        (6,), lambda rng, dt: _ids(rng, (4, 6), 9).astype(dt))
    return cases


CASES = _cases()


def _build(name, dtype, seed=0):
    layers, input_shape, make_x = CASES[name]()
    model = entrena.Sequential(layers, input_shape=input_shape, dtype=dtype, seed=seed)
    rng = np.random.default_rng(sum(map(ord, name)))
    for i, layer in enumerate(model.layers):
        if isinstance(layer, L.Normalization):
            data = _x(rng, (20,) + tuple(model._core.layer_output_shape(i - 1)) if i else (20,) + input_shape,
                      dtype, 2.0) + 1.5
            layer.adapt(data)
    _perturb(model, rng)
    return model, make_x(rng, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(CASES))
def test_to_torch_matches_predict(name, dtype):
    model, x = _build(name, dtype)
    want = model.predict(x)
    module = to_torch(model)
    assert isinstance(module, nn.Sequential)
    assert all(p.dtype == TORCH_DTYPE[dtype] for p in module.parameters())
    module.eval()
    got = _run_torch(module, x)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, **TOL[dtype])


def test_model_method_and_training_mode():
    model, x = _build("batchnorm", "float64")
    module = model.to_torch()
    assert module.training              # the model is in training mode, as made
    model.eval()
    module = model.to_torch()
    assert not module.training
    assert not any(m.training for m in module.modules())
    np.testing.assert_allclose(_run_torch(module, x), model.predict(x), **TOL["float64"])


def test_to_torch_copies_the_weights():
    model, x = _build("dense_relu", "float64")
    module = to_torch(model).eval()
    before = model.predict(x)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(1.0)
    np.testing.assert_array_equal(model.predict(x), before)
    w = model.named_parameters()[0][1]
    w += 1.0
    assert not np.allclose(_run_torch(module, x), model.predict(x))


def test_to_torch_helper_modules():
    from entrena.interop import torch_modules
    kinds = lambda name: [type(m).__name__ for m in to_torch(_build(name, "float32")[0])]  # noqa: E731
    # "same" with stride 2 pads unevenly: an explicit ZeroPad2d, then an unpadded convolution.
    assert kinds("conv2d_same_stride2")[:3] == ["ZeroPad2d", "Conv2d", "ReLU"]
    assert kinds("maxpool_same").count("PoolSame") == 3
    assert kinds("normalization")[0] == "Standardize"
    assert kinds("flatten_reshape")[0] == "Reshape"
    assert kinds("global_pooling")[1:3] == ["AdaptiveMaxPool2d", "Flatten"]
    module = to_torch(_build("embedding_stacked_recurrent", "float32")[0])
    assert isinstance(module[0], nn.Embedding) and isinstance(module[0], torch_modules.EmbeddingIds)
    assert [type(m.rnn) for m in module[1:4]] == [nn.LSTM, nn.GRU, nn.RNN]
    assert module[1].rnn.bidirectional and module[1].rnn.batch_first
    assert module[2].go_backwards and module[2].return_sequences and not module[3].return_sequences


def test_to_torch_layout_of_a_dense_model():
    model, _ = _build("dense_relu", "float32")
    module = to_torch(model)
    assert [type(m) for m in module] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU]
    state = model.state_dict()
    np.testing.assert_array_equal(module[0].weight.detach().numpy(), state["dense_0.W"].T)
    np.testing.assert_array_equal(module[0].bias.detach().numpy(), state["dense_0.b"])
    assert module[2].bias is None


def test_to_torch_layernorm_with_beta_but_no_gamma():
    model = entrena.Sequential([L.Dense(4), L.LayerNormalization(center=True, scale=False)], input_shape=(3,),
                               dtype="float64", seed=0)
    _perturb(model, np.random.default_rng(0))
    assert np.abs(model.state_dict()["layernormalization_1.beta"]).min() > 0
    x = np.random.default_rng(1).standard_normal((5, 3))
    np.testing.assert_allclose(_run_torch(to_torch(model).eval(), x), model.predict(x), **TOL["float64"])


# ---------------------------------------------------- round trip entrena -> torch -> entrena
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", CASES)
def test_from_torch_of_to_torch_gives_the_same_tensors(name, dtype):
    model, x = _build(name, dtype)
    module = to_torch(model)
    back = from_torch(module, model.input_shape, dtype=dtype)
    if any(True for _ in module.parameters()):
        # The dtype is the parameters' by default (a module without any is float32).
        assert from_torch(module, model.input_shape).dtype == model.dtype
    assert back.dtype == model.dtype
    assert back.input_shape == model.input_shape
    _assert_same_tensors(back, model)
    np.testing.assert_allclose(back.predict(x), model.predict(x), **TOL[dtype])


# ------------------------------------------------------- torch models (from_torch)
def _tcases():
    c = {}
    c["mlp"] = lambda: (nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3), nn.Identity(), nn.Dropout(0.3),
                                      nn.Linear(3, 2, bias=False)), None, lambda rng: _x(rng, (5, 4), "float32"))
    c["activations"] = lambda: (nn.Sequential(
        nn.Linear(3, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8), nn.SiLU(), nn.Linear(8, 8),
        nn.LeakyReLU(0.2), nn.Linear(8, 8), nn.ELU(0.6), nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 8),
        nn.GELU(approximate="tanh"), nn.Linear(8, 8), nn.Softplus(), nn.Linear(8, 8), nn.LeakyReLU(),
        nn.Linear(8, 5), nn.LogSoftmax(dim=-1)), None, lambda rng: _x(rng, (6, 3), "float32", 3.0))
    c["softmax"] = lambda: (nn.Sequential(nn.Linear(3, 4), nn.ELU(), nn.Linear(4, 4), nn.Softmax(dim=-1)), None,
                            lambda rng: _x(rng, (6, 3), "float32", 3.0))
    c["single_linear"] = lambda: (nn.Linear(3, 2), None, lambda rng: _x(rng, (4, 3), "float32"))
    c["single_conv"] = lambda: (nn.Conv2d(2, 3, 3, padding=1), (2, 5, 5), lambda rng: _x(rng, (2, 2, 5, 5), "float32"))
    c["linear_on_sequences"] = lambda: (nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2)), (5, 3),
                                        lambda rng: _x(rng, (2, 5, 3), "float32"))
    c["nested"] = lambda: (nn.Sequential(nn.Sequential(nn.Linear(4, 5), nn.Tanh()),
                                         nn.Sequential(nn.Sequential(nn.Linear(5, 3)), nn.ReLU()), nn.Linear(3, 2)),
                           None, lambda rng: _x(rng, (3, 4), "float32"))
    c["conv1d"] = lambda: (nn.Sequential(
        nn.Conv1d(2, 4, 3), nn.ReLU(), nn.Conv1d(4, 4, 3, padding=2, dilation=2, groups=2),
        nn.Conv1d(4, 3, 4, padding="same"), nn.Conv1d(3, 3, 3, padding="valid", stride=2, bias=False),
        nn.MaxPool1d(2), nn.Conv1d(3, 2, 1), nn.AvgPool1d(2, stride=1), nn.Flatten(), nn.Linear(6, 2)),
        (2, 20), lambda rng: _x(rng, (3, 2, 20), "float32"))
    c["conv2d"] = lambda: (nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.SiLU(), nn.Conv2d(4, 4, (2, 3), padding=(1, 0), groups=4),
        nn.Conv2d(4, 3, 4, padding="same", dilation=(1, 2)), nn.Conv2d(3, 2, 1, bias=False),
        nn.MaxPool2d((2, 1)), nn.AvgPool2d(2, stride=(1, 2)), nn.Flatten(), nn.Linear(8, 3)),
        (3, 12, 11), lambda rng: _x(rng, (2, 3, 12, 11), "float32"))
    c["pooling"] = lambda: (nn.Sequential(
        nn.MaxPool2d(3, stride=2), nn.AvgPool2d((2, 3)), nn.Flatten(start_dim=1)),
        (2, 9, 13), lambda rng: _x(rng, (3, 2, 9, 13), "float32"))
    c["global_pooling_2d"] = lambda: (nn.Sequential(
        nn.Conv2d(2, 3, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2)),
        (2, 5, 4), lambda rng: _x(rng, (3, 2, 5, 4), "float32"))
    c["global_max_pooling_2d"] = lambda: (nn.Sequential(nn.Conv2d(2, 3, 2), nn.AdaptiveMaxPool2d((1, 1)), nn.Flatten()),
                                          (2, 5, 4), lambda rng: _x(rng, (3, 2, 5, 4), "float32"))
    c["global_pooling_1d"] = lambda: (nn.Sequential(
        nn.Conv1d(2, 3, 2), nn.AdaptiveMaxPool1d(1), nn.Flatten(), nn.Linear(3, 4), nn.Identity()),
        (2, 7), lambda rng: _x(rng, (3, 2, 7), "float32"))
    c["global_avg_pooling_1d"] = lambda: (nn.Sequential(nn.Conv1d(2, 3, 2), nn.AdaptiveAvgPool1d(1), nn.Flatten()),
                                          (2, 7), lambda rng: _x(rng, (3, 2, 7), "float32"))
    c["zero_pad"] = lambda: (nn.Sequential(nn.ZeroPad2d((1, 2, 0, 3)), nn.Conv2d(2, 2, 2), nn.ZeroPad2d(1)),
                             (2, 4, 3), lambda rng: _x(rng, (2, 2, 4, 3), "float32"))
    c["batchnorm"] = lambda: (nn.Sequential(
        nn.Conv2d(2, 3, 2), nn.BatchNorm2d(3, momentum=0.3, eps=1e-3), nn.ReLU(), nn.Flatten(),
        nn.Linear(36, 4), nn.BatchNorm1d(4), nn.Linear(4, 3), nn.BatchNorm1d(3, affine=False)),
        (2, 5, 4), lambda rng: _x(rng, (5, 2, 5, 4), "float32"))
    c["batchnorm1d_on_sequences"] = lambda: (nn.Sequential(nn.Conv1d(2, 3, 2), nn.BatchNorm1d(3)),
                                             (2, 6), lambda rng: _x(rng, (4, 2, 6), "float32"))
    c["layernorm"] = lambda: (nn.Sequential(
        nn.Linear(3, 5), nn.LayerNorm(5, eps=1e-3), nn.LayerNorm(5, bias=False),
        nn.LayerNorm(5, elementwise_affine=False)),
        None, lambda rng: _x(rng, (4, 3), "float32"))
    c["embedding"] = lambda: (nn.Sequential(nn.Embedding(7, 3), nn.Flatten(), nn.Linear(15, 2)), (5,),
                              lambda rng: _ids(rng, (4, 5), 7))
    for kind, cls in (("rnn", nn.RNN), ("lstm", nn.LSTM), ("gru", nn.GRU)):
        c[f"{kind}"] = lambda cls=cls: (nn.Sequential(cls(3, 4, batch_first=True)), (5, 3),
                                        lambda rng: _x(rng, (3, 5, 3), "float32"))
        c[f"{kind}_single_module"] = lambda cls=cls: (cls(3, 4, batch_first=True, bias=False), (5, 3),
                                                      lambda rng: _x(rng, (3, 5, 3), "float32"))
        c[f"{kind}_stacked_bidirectional"] = lambda cls=cls: (nn.Sequential(
            cls(3, 4, num_layers=3, bidirectional=True, batch_first=True), nn.Linear(8, 2)), (6, 3),
            lambda rng: _x(rng, (3, 6, 3), "float32"))
    c["rnn_relu_two_layers"] = lambda: (nn.Sequential(
        nn.RNN(2, 3, num_layers=2, nonlinearity="relu", batch_first=True)), (4, 2),
        lambda rng: _x(rng, (3, 4, 2), "float32"))
    c["embedding_lstm_gru_linear"] = lambda: (nn.Sequential(
        nn.Embedding(9, 4, padding_idx=None), nn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True),
        nn.GRU(10, 3, bidirectional=True, batch_first=True), nn.Linear(6, 2), nn.LogSoftmax(dim=-1)),
        (6,), lambda rng: _ids(rng, (3, 6), 9))
    return c


TCASES = _tcases()


def _perturb_torch(module):
    """BatchNorm's running statistics, gamma and beta away from 0, 1."""
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(0.5 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + 1.5 * torch.rand(m.running_var.shape, generator=g))
                if m.affine:
                    m.weight.copy_(1 + 0.3 * torch.randn(m.weight.shape, generator=g))
                    m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=g))
            if isinstance(m, nn.LayerNorm) and m.elementwise_affine:
                m.weight.copy_(1 + 0.3 * torch.randn(m.weight.shape, generator=g))
                if m.bias is not None:
                    m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=g))


def _tbuild(name, dtype):
    torch.manual_seed(sum(map(ord, name)))
    module, input_shape, make_x = TCASES[name]()
    _perturb_torch(module)
    module = module.to(TORCH_DTYPE[dtype]).eval()
    x = make_x(np.random.default_rng(sum(map(ord, name)))).astype(dtype)
    return module, input_shape, x


def _torch_ref(module, x):
    if any(isinstance(m, nn.Embedding) for m in module.modules()):
        # nn.Embedding takes integer ids; entrena takes them as floats.
        with torch.no_grad():
            return _torch_forward(module, torch.from_numpy(x.astype(np.int64))).numpy()
    return _run_torch(module, x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(TCASES))
def test_from_torch_matches_torch(name, dtype):
    module, input_shape, x = _tbuild(name, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # nothing to warn about here
        # A module without parameters has no dtype: float32 unless told.
        model = from_torch(module, input_shape, dtype=None if any(True for _ in module.parameters()) else dtype)
    assert model.dtype == np.dtype(dtype)
    want = _torch_ref(module, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # the model counts as trained: no warning from predict
        got = model.predict(x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(TCASES))
def test_to_torch_of_from_torch_matches_torch(name, dtype):
    module, input_shape, x = _tbuild(name, dtype)
    back = to_torch(from_torch(module, input_shape, dtype=dtype)).eval()
    want = _torch_ref(module, x)
    np.testing.assert_allclose(_run_torch(back, x), want, **TOL[dtype])


def test_from_torch_dtype_and_seed_arguments():
    module, _, x = _tbuild("mlp", "float32")
    model = from_torch(module, dtype="float64", seed=3)
    assert model.dtype == np.float64
    assert model.seed == 3
    np.testing.assert_allclose(model.predict(x.astype(np.float64)), _torch_ref(module, x), rtol=1e-5, atol=1e-6)
    assert from_torch(module.double()).dtype == np.float64


def test_from_torch_copies_the_weights():
    module, _, x = _tbuild("mlp", "float64")
    model = from_torch(module)
    before = model.predict(x)
    with torch.no_grad():
        module[0].weight.add_(1.0)
    np.testing.assert_array_equal(model.predict(x), before)


def test_from_torch_recurrent_layers_and_names():
    module, input_shape, _ = _tbuild("lstm_stacked_bidirectional", "float64")
    model = from_torch(module, input_shape)
    assert [type(layer).__name__ for layer in model.layers] == ["Bidirectional"] * 3 + ["Dense"]
    assert [layer.layer.return_sequences for layer in model.layers[:3]] == [True, True, True]
    state = model.state_dict()
    lstm = module[0]
    np.testing.assert_array_equal(state["bidirectional_1.backward_W_hh"], lstm.weight_hh_l1_reverse.detach().numpy().T)
    np.testing.assert_array_equal(state["bidirectional_2.forward_b_ih"], lstm.bias_ih_l2.detach().numpy())


def test_from_torch_bidirectional_matches_torch_final_state():
    # A to_torch RecurrentModule returning the last output: the two final
    # states merged, from a two-layer bidirectional GRU's last layer.
    torch.manual_seed(0)
    gru = nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    x = np.random.default_rng(0).standard_normal((3, 5, 3))
    model = from_torch(_recurrent_module(gru, "ave"), (5, 3))
    with torch.no_grad():
        _, h = gru(torch.from_numpy(x))
    np.testing.assert_allclose(model.predict(x), ((h[-2] + h[-1]) / 2).numpy(), **TOL["float64"])


def _recurrent_module(rnn, merge_mode):
    from entrena.interop.torch_modules import RecurrentModule
    return RecurrentModule(rnn, return_sequences=False, merge_mode=merge_mode)


# ------------------------------------------------------- training trajectories
N_STEPS = 5
LR = 1e-2


def _torch_train(module, x, y, loss_fn):
    opt = torch.optim.Adam(module.parameters(), lr=LR)
    module.train()
    losses = []
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(N_STEPS):
        opt.zero_grad()
        loss = loss_fn(module(tx), ty)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def _entrena_train(model, x, y, loss):
    model.compile(loss, entrena.Adam(lr=LR))
    hist = model.fit(x, y, batch_size=len(x), shuffle=False, epochs=N_STEPS, verbose=0)
    return hist.history["loss"]


def _mlp():
    return [L.Dense(8, activation="relu"), L.Dense(3)], (4,)


def _cnn():
    return [L.Conv2D(3, 3, padding="same", activation="relu"), L.BatchNormalization(), L.MaxPool2D(2),
            L.Conv2D(4, 2, strides=2), L.Flatten(), L.Dense(3)], (2, 8, 8)


def _lstm():
    return [L.LSTM(5, return_sequences=True), L.GRU(4), L.Dense(2)], (6, 3)


TRAIN = {
    "mlp": (_mlp, "categorical_crossentropy", lambda rng: (rng.standard_normal((12, 4)), rng.integers(0, 3, 12))),
    "cnn": (_cnn, "categorical_crossentropy",
            lambda rng: (rng.standard_normal((10, 2, 8, 8)), rng.integers(0, 3, 10))),
    "lstm": (_lstm, "mse", lambda rng: (rng.standard_normal((8, 6, 3)), rng.standard_normal((8, 2)))),
}
TORCH_LOSS = {"categorical_crossentropy": nn.CrossEntropyLoss(), "mse": nn.MSELoss()}


@pytest.mark.parametrize("direction", ["entrena_to_torch", "torch_to_entrena"])
@pytest.mark.parametrize("name", list(TRAIN))
def test_adam_training_trajectories_agree(name, direction):
    make, loss, data = TRAIN[name]
    x, y = data(np.random.default_rng(7))
    layers, input_shape = make()
    if direction == "entrena_to_torch":
        model = entrena.Sequential(layers, input_shape=input_shape, dtype="float64", seed=11)
        _perturb(model, np.random.default_rng(3))
        module = to_torch(model)
    else:
        # The torch model is to_torch's of an entrena model's architecture,
        # re-initialised by torch, and taken back with from_torch.
        module = to_torch(entrena.Sequential(layers, input_shape=input_shape, dtype="float64", seed=0))
        torch.manual_seed(11)
        for m in module.modules():
            if hasattr(m, "reset_parameters") and m is not module:
                m.reset_parameters()
        model = from_torch(module, input_shape)
    initial = model.state_dict()
    ty = y if loss == "mse" else y.astype(np.int64)
    tlosses = _torch_train(module, x, ty, TORCH_LOSS[loss])
    elosses = _entrena_train(model, x, y, loss)
    np.testing.assert_allclose(elosses, tlosses, rtol=1e-9, atol=1e-12)
    assert tlosses[-1] < tlosses[0]
    # Tensors in order (the layer names differ where an activation became a layer).
    trained = from_torch(module, input_shape)
    assert len(_state_values(trained)) == len(initial)
    for (k, got), want in zip(model.state_dict().items(), _state_values(trained)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11, err_msg=k)
        if not k.endswith(("running_mean", "running_var")):
            assert not np.allclose(got, initial[k]), k


# ------------------------------------------------------------------ errors
def _from_torch_error(module, input_shape, match):
    with pytest.raises(ValueError, match=match):
        from_torch(module, input_shape)


@pytest.mark.parametrize("module, input_shape, match", [
    (nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), (2, 5, 5), r"Conv2d.*zeros"),
    (nn.Conv1d(2, 3, 3, padding=1, padding_mode="circular"), (2, 5), r"Conv1d.*zeros"),
    (nn.Sequential(nn.MaxPool2d(2, padding=1)), (2, 5, 5), r"MaxPool2d.*padding"),
    (nn.AvgPool1d(2, ceil_mode=True), (2, 5), r"AvgPool1d.*ceil_mode"),
    (nn.MaxPool2d(2, dilation=2), (2, 6, 6), r"MaxPool2d.*dilation"),
    (nn.LSTM(3, 4), (5, 3), r"LSTM.*batch_first"),
    (nn.Sequential(nn.GRU(3, 4, batch_first=False)), (5, 3), r"GRU.*batch_first"),
    (nn.LSTM(3, 4, batch_first=True, proj_size=2), (5, 3), r"proj_size"),
    (nn.Sequential(nn.Linear(3, 3), nn.Softplus(beta=2)), None, r"Softplus.*beta"),
    (nn.Sequential(nn.Linear(3, 3), nn.Softplus(threshold=10)), None, r"Softplus"),
    (nn.Bilinear(3, 3, 2), (3,), r"Bilinear"),
    (nn.Sequential(nn.Linear(4, 4), nn.TransformerEncoderLayer(4, 2, dim_feedforward=8)), None,
     r"TransformerEncoderLayer"),
    (nn.Sequential(nn.Linear(3, 3), nn.PReLU()), None, r"PReLU"),
    (nn.Sequential(nn.Conv2d(2, 2, 2), nn.Flatten(start_dim=2)), (2, 4, 4), r"Flatten.*start_dim"),
    (nn.Sequential(nn.Conv2d(2, 2, 2), nn.AdaptiveAvgPool2d(2), nn.Flatten()), (2, 4, 4), r"AdaptiveAvgPool2d"),
    (nn.Sequential(nn.Conv2d(2, 2, 2), nn.AdaptiveMaxPool2d(1)), (2, 4, 4), r"AdaptiveMaxPool2d.*Flatten"),
    (nn.Sequential(nn.Linear(3, 4), nn.LayerNorm((2, 2))), None, r"LayerNorm.*last axis"),
    (nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, track_running_stats=False)), None, r"BatchNorm1d"),
    (nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, momentum=None)), None, r"BatchNorm1d.*momentum"),
    (nn.Embedding(5, 2, max_norm=1.0), (3,), r"Embedding.*max_norm"),
    (nn.Sequential(nn.Identity()), (3,), r"no layer"),
], ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else None)
def test_from_torch_errors(module, input_shape, match):
    _from_torch_error(module, input_shape, match)


def test_from_torch_needs_input_shape_unless_the_first_module_is_linear():
    conv = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Flatten(), nn.Linear(3, 2))
    with pytest.raises(ValueError, match="input_shape"):
        from_torch(conv)
    with pytest.raises(ValueError, match="input_shape"):
        from_torch(nn.Sequential(nn.ReLU(), nn.Linear(3, 2)))
    assert from_torch(conv, (2, 3, 3)).output_shape == (2,)


def test_from_torch_shape_mismatch_names_the_tensor():
    # The input shape does not fit the Linear after Flatten.
    module = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Flatten(), nn.Linear(12, 2))
    with pytest.raises(ValueError, match=r"layer 2 \(Dense\) W"):
        from_torch(module, (2, 5, 5))


def test_from_torch_softmax_axis():
    # dim=1 on 2-D inputs is the last axis: accepted, equal outputs.
    t = nn.Sequential(nn.Linear(3, 4), nn.Softmax(dim=1)).eval()
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(from_torch(t).predict(x), _run_torch(t, x), rtol=1e-5, atol=1e-6)
    # Over another axis, or PyTorch's implicit dim=None (the batch axis for 3-D inputs): an error.
    with pytest.raises(ValueError, match="last axis"):
        from_torch(nn.Sequential(nn.Linear(3, 4), nn.Softmax(dim=1)), input_shape=(2, 3))
    with pytest.raises(ValueError, match="dim=None"):
        from_torch(nn.Sequential(nn.Linear(3, 4), nn.Softmax()), input_shape=(2, 3))


def test_from_torch_warnings():
    with pytest.warns(UserWarning, match="dropout"):
        from_torch(nn.LSTM(3, 4, num_layers=2, dropout=0.5, batch_first=True), (5, 3))
    frozen = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    frozen[0].weight.requires_grad_(False)
    with pytest.warns(UserWarning, match=r"0.weight are frozen"):
        from_torch(frozen)
    with pytest.warns(UserWarning, match="scale_grad_by_freq"):
        from_torch(nn.Embedding(5, 2, scale_grad_by_freq=True), (3,))


@pytest.mark.parametrize("module", [[nn.Linear(3, 2)], "Linear", None])
def test_from_torch_needs_a_module(module):
    with pytest.raises(TypeError, match="module: expected a torch.nn.Module"):
        from_torch(module)


def test_from_torch_refuses_meta_tensors():
    with pytest.raises(ValueError, match="weight is on the meta device"):
        from_torch(nn.Linear(3, 2, device="meta"))


def test_from_torch_refuses_a_sequential_with_its_own_forward():
    class Skip(nn.Sequential):
        def forward(self, x):
            return x + super().forward(x)

    with pytest.raises(ValueError, match="Skip is an nn.Sequential with its own forward"):
        from_torch(Skip(nn.Linear(3, 3)))
    with pytest.raises(ValueError, match="its own forward"):
        from_torch(nn.Sequential(nn.Linear(3, 3), Skip(nn.Linear(3, 3))))

    class Named(nn.Sequential):      # a subclass that only adds a name runs its modules in order: fine
        pass

    assert from_torch(Named(nn.Linear(3, 2))).output_shape == (2,)


@pytest.mark.parametrize("layers, input_shape, match", [
    ([L.RandomFlip("horizontal"), L.Flatten()], (1, 4, 4), r"RandomFlip"),
    ([L.RandomCrop(3, 3), L.Flatten()], (1, 4, 4), r"RandomCrop"),
    ([L.RandomRotation(0.1)], (1, 4, 4), r"RandomRotation"),
    ([L.RandomTranslation(0.1, 0.1)], (1, 4, 4), r"RandomTranslation"),
    ([L.Dense(3), L.BatchNormalization(center=False)], (2,), r"BatchNorm.*gamma and beta"),
    ([L.Bidirectional(L.GRU(3, go_backwards=True))], (4, 2), r"go_backwards"),
], ids=["RandomFlip", "RandomCrop", "RandomRotation", "RandomTranslation", "batchnorm_center_only",
        "bidirectional_go_backwards"])
def test_to_torch_errors(layers, input_shape, match):
    model = entrena.Sequential(layers, input_shape=input_shape, seed=0)
    with pytest.raises(ValueError, match=match):
        to_torch(model)


def test_to_torch_of_an_unbuilt_model():
    with pytest.raises(RuntimeError, match="to_torch"):
        to_torch(entrena.Sequential([L.Dense(2)]))


@pytest.mark.parametrize("layers", [
    [L.Embedding(6, 3, padding_idx=0), L.GRU(4), L.Dense(2)],
    [L.Masking(0.0), L.LSTM(3)],
], ids=["embedding_padding_idx", "masking"])
def test_to_torch_warns_about_masks(layers):
    model = entrena.Sequential(layers, input_shape=(5,) if isinstance(layers[0], L.Embedding) else (5, 2), seed=0)
    with pytest.warns(UserWarning, match="mask"):
        module = to_torch(model)
    # Without padding in the input, the outputs still agree.
    rng = np.random.default_rng(0)
    x = _ids(rng, (3, 5), 6, low=1).astype(np.float32) if isinstance(layers[0], L.Embedding) \
        else _x(rng, (3, 5, 2), np.float32) + 5.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = model.predict(x)
    np.testing.assert_allclose(_run_torch(module.eval(), x), want, **TOL["float32"])


def test_to_torch_without_masks_does_not_warn():
    model, _ = _build("embedding_stacked_recurrent", "float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        to_torch(model)


def test_from_torch_embedding_padding_idx_warns_and_divisor_override_is_refused():
    with pytest.warns(UserWarning, match="padding_idx also masks"):
        from_torch(nn.Sequential(nn.Embedding(10, 4, padding_idx=0), nn.Flatten()), input_shape=(5,))
    with pytest.raises(ValueError, match="divisor_override"):
        from_torch(nn.Sequential(nn.AvgPool2d(2, divisor_override=1)), input_shape=(1, 4, 4))
