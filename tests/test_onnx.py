"""ONNX export (entrena.interop.export_onnx, model.export_onnx and
``python -m entrena export``) checked with ONNX Runtime: every layer type
and every activation, with parameters and buffers moved away from their
initial values, against ``model.predict`` on two batch sizes (the batch
dimension is dynamic); opsets 17, 18, 20 and 21 (Gelu from 20, Reduce*
axes as an input from 18); masks over post-padded sequences (Embedding's
padding_idx, Masking) as the recurrent nodes' sequence_lens; trained models
(an MLP and a small CNN on the digits); the atomic write; bad arguments;
the command line (train, export, predict on a CSV file)."""
import csv
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import entrena  # noqa: E402
from entrena import layers as L  # noqa: E402
from entrena.interop import export_onnx  # noqa: E402

RTOL, ATOL = 1e-5, 1e-6
BATCHES = (3, 7)
ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "gelu_tanh", "silu",
               "softplus", "softmax", "log_softmax"]
ALPHA = {"leaky_relu": 0.2, "elu": 0.7}
LENGTHS = {3: [6, 3, 1], 7: [2, 6, 5, 1, 4, 6, 3]}      # post-padded sequences of 6 steps


# ------------------------------------------------------------- helpers
def _ort(proto):
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def _run(proto_or_session, X):
    sess = proto_or_session if isinstance(proto_or_session, ort.InferenceSession) else _ort(proto_or_session)
    return sess.run(["output"], {"input": np.ascontiguousarray(X, dtype=np.float32)})[0]


def _perturb(model, seed=0, scale=0.3, keep_zero_rows=None):
    """Every parameter and buffer moved by N(0, scale) noise, variances kept
    positive (BatchNormalization's running_var, Normalization's variance)
    and an Embedding's padding row left at zero; written with
    load_state_dict (which marks the model as trained)."""
    rng = np.random.default_rng(seed)
    state = {}
    for name, v in model.state_dict().items():
        if name.endswith(("running_var", "variance")):
            state[name] = rng.uniform(0.5, 2.0, v.shape).astype(v.dtype)
        else:
            state[name] = (v + rng.normal(0.0, scale, v.shape)).astype(v.dtype)
    for name, row in (keep_zero_rows or {}).items():
        state[name][row] = 0.0
    model.load_state_dict(state)


def _check_graph(proto):
    onnx.checker.check_model(proto, full_check=True)
    for vi in (proto.graph.input[0], proto.graph.output[0]):
        assert vi.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
        assert vi.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["output"]


def _compare(model, make_input, *, opset=17, rtol=RTOL, atol=ATOL, proto=None):
    """Exports (unless given the proto), checks the graph, runs ONNX Runtime
    on two batch sizes and compares with model.predict."""
    if proto is None:
        proto = export_onnx(model, opset=opset)
    _check_graph(proto)
    sess = _ort(proto)
    for n in BATCHES:
        X = make_input(n)
        want = model.predict(X)
        got = _run(sess, X)
        assert got.dtype == np.float32
        assert got.shape == want.shape == (n, *model.output_shape)
        # atol scales with the outputs' size: float32 sums of large terms
        # that cancel differ by a few ulps of the terms, not of the result.
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * scale, err_msg=f"batch {n}")
    return proto


def _normal(shape, seed=1, scale=1.5):
    rng = np.random.default_rng(seed)
    return lambda n: (scale * rng.normal(size=(n, *shape))).astype(np.float32)


def _ids(steps, vocab, seed=1):
    rng = np.random.default_rng(seed)
    return lambda n: rng.integers(0, vocab, size=(n, steps)).astype(np.float32)


def _post_padded(n, steps, features, *, seed=2, pad=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, steps, features)).astype(np.float32)
    for i, length in enumerate(LENGTHS[n]):
        X[i, length:] = pad
    return X


def _post_padded_ids(n, steps, vocab, *, seed=3):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocab, size=(n, steps)).astype(np.float32)
    for i, length in enumerate(LENGTHS[n]):
        ids[i, length:] = 0
    return ids


def _model(layers, input_shape, *, seed=7, dtype="float32", **perturb):
    model = entrena.Sequential(layers, input_shape=input_shape, seed=seed, dtype=dtype)
    _perturb(model, **perturb)
    return model


def _ops(proto):
    return [n.op_type for n in proto.graph.node]


# ----------------------------------------------------- every activation
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_activation(activation):
    model = _model([L.Dense(5, activation=activation, alpha=ALPHA.get(activation))], (4,))
    _compare(model, _normal((4,)))


@pytest.mark.parametrize("activation", ["relu", "softmax", "gelu_tanh"])
def test_dense_on_sequences_and_without_bias(activation):
    # Dense acts on the last axis of (n, steps, features).
    model = _model([L.Dense(6, activation=activation, use_bias=False), L.Dense(3, activation=activation)], (5, 4))
    _compare(model, _normal((5, 4)))


ACTIVATION_LAYERS = {
    "ReLU": lambda: L.ReLU(),
    "Sigmoid": lambda: L.Sigmoid(),
    "Tanh": lambda: L.Tanh(),
    "LeakyReLU": lambda: L.LeakyReLU(0.3),
    "LeakyReLU-default": lambda: L.LeakyReLU(),
    "ELU": lambda: L.ELU(0.5),
    "ELU-default": lambda: L.ELU(),
    "GELU": lambda: L.GELU(),
    "GELU-tanh": lambda: L.GELU(approximate="tanh"),
    "SiLU": lambda: L.SiLU(),
    "Softplus": lambda: L.Softplus(),
    "Softmax": lambda: L.Softmax(),
    "LogSoftmax": lambda: L.LogSoftmax(),
    "Activation-identity": lambda: L.Activation("identity"),
    "Activation-elu": lambda: L.Activation("elu", alpha=1.7),
}


@pytest.mark.parametrize("name", list(ACTIVATION_LAYERS))
def test_activation_layer(name):
    model = _model([L.Dense(6), ACTIVATION_LAYERS[name](), L.Dense(3)], (4,))
    _compare(model, _normal((4,)))


def test_softplus_large_inputs():
    # entrena's Softplus is x itself above 20; ONNX's is log(1 + e^x): equal in float32.
    model = entrena.Sequential([L.Softplus()], input_shape=(6,), seed=0)
    X = lambda n: np.linspace(-30, 40, 6 * n, dtype=np.float32).reshape(n, 6)  # noqa: E731
    _compare(model, X)


# ------------------------------------------------------ every layer type
def _conv2d_stack(conv, shape=(3, 8, 8)):
    return [conv, L.Flatten(), L.Dense(4)], shape


LAYER_CASES = {
    # identities in inference
    "Dropout": ([L.Dense(6), L.Dropout(0.5), L.Dense(3)], (4,)),
    "GaussianNoise": ([L.Dense(6), L.GaussianNoise(0.7), L.Dense(3)], (4,)),
    "RandomFlip": ([L.RandomFlip(), L.Conv2D(2, 3)], (2, 6, 6)),
    "RandomTranslation": ([L.RandomTranslation(0.2, 0.3), L.Conv2D(2, 3)], (2, 6, 6)),
    "RandomRotation": ([L.RandomRotation(0.1), L.Conv2D(2, 3)], (2, 6, 6)),
    "RandomCrop-same-size": ([L.RandomCrop(6, 6, padding=2), L.Conv2D(2, 3)], (2, 6, 6)),
    # shapes
    "Flatten": ([L.Conv2D(2, 3), L.Flatten(), L.Dense(3)], (2, 5, 5)),
    "Reshape": ([L.Dense(12), L.Reshape((3, 4)), L.Dense(2)], (5,)),
    "Reshape-minus-one": ([L.Dense(12), L.Reshape((2, -1)), L.LayerNormalization()], (5,)),
    "Reshape-to-image": ([L.Dense(18), L.Reshape((2, 3, 3)), L.Conv2D(2, 2)], (4,)),
    # Conv1D
    "Conv1D": ([L.Conv1D(4, 3)], (3, 10)),
    "Conv1D-strides-same": ([L.Conv1D(4, 3, strides=2, padding="same")], (3, 10)),
    "Conv1D-same-odd": ([L.Conv1D(4, 4, strides=3, padding="same")], (3, 11)),
    "Conv1D-explicit-padding": ([L.Conv1D(4, 3, padding=2)], (3, 9)),
    "Conv1D-dilation": ([L.Conv1D(4, 3, dilation_rate=2, padding="same")], (3, 10)),
    "Conv1D-groups": ([L.Conv1D(4, 3, groups=2, activation="tanh")], (2, 9)),
    "Conv1D-depthwise-no-bias": ([L.Conv1D(3, 2, groups=3, use_bias=False, activation="relu")], (3, 9)),
    # Conv2D
    "Conv2D": _conv2d_stack(L.Conv2D(4, 3)),
    "Conv2D-strides-same": _conv2d_stack(L.Conv2D(4, 3, strides=2, padding="same")),
    "Conv2D-same-asymmetric": _conv2d_stack(L.Conv2D(4, (2, 4), strides=(2, 3), padding="same"), (3, 7, 9)),
    "Conv2D-explicit-padding": _conv2d_stack(L.Conv2D(4, 3, padding=1)),
    "Conv2D-explicit-padding-pair": _conv2d_stack(L.Conv2D(4, 3, padding=(2, 1))),
    "Conv2D-dilation": _conv2d_stack(L.Conv2D(4, 3, dilation_rate=(2, 1), padding="same")),
    "Conv2D-groups": _conv2d_stack(L.Conv2D(4, 3, groups=2, activation="leaky_relu", alpha=0.1), (2, 7, 7)),
    "Conv2D-depthwise": _conv2d_stack(L.Conv2D(3, 3, groups=3, activation="elu", alpha=0.5)),
    "Conv2D-no-bias-gelu": _conv2d_stack(L.Conv2D(4, 3, use_bias=False, activation="gelu")),
    "Conv2D-silu": _conv2d_stack(L.Conv2D(4, 3, activation="silu")),
    # pooling
    "MaxPool1D": ([L.Conv1D(3, 2), L.MaxPool1D(2)], (2, 11)),
    "MaxPool1D-same-strides": ([L.Conv1D(3, 2), L.MaxPool1D(3, strides=2, padding="same")], (2, 11)),
    "AvgPool1D": ([L.Conv1D(3, 2), L.AvgPool1D(3, strides=1)], (2, 11)),
    "AvgPool1D-same": ([L.Conv1D(3, 2), L.AvgPool1D(3, padding="same")], (2, 11)),
    "MaxPool2D": ([L.Conv2D(3, 2), L.MaxPool2D(2)], (2, 9, 9)),
    "MaxPool2D-same-strides": ([L.Conv2D(3, 2), L.MaxPool2D((3, 2), strides=(2, 1), padding="same")], (2, 9, 8)),
    "AvgPool2D": ([L.Conv2D(3, 2), L.AvgPool2D(2, strides=1)], (2, 9, 9)),
    "AvgPool2D-same": ([L.Conv2D(3, 2), L.AvgPool2D(3, strides=2, padding="same")], (2, 9, 8)),
    "GlobalMaxPooling1D": ([L.Conv1D(3, 2), L.GlobalMaxPooling1D(), L.Dense(2)], (2, 8)),
    "GlobalAveragePooling1D": ([L.Conv1D(3, 2), L.GlobalAveragePooling1D(), L.Dense(2)], (2, 8)),
    "GlobalMaxPooling2D": ([L.Conv2D(3, 2), L.GlobalMaxPooling2D(), L.Dense(2)], (2, 6, 7)),
    "GlobalAveragePooling2D": ([L.Conv2D(3, 2), L.GlobalAveragePooling2D(), L.Dense(2)], (2, 6, 7)),
    "ZeroPadding2D": ([L.ZeroPadding2D(1), L.Conv2D(2, 3)], (2, 5, 5)),
    "ZeroPadding2D-pair": ([L.ZeroPadding2D((1, 2)), L.Conv2D(2, 3)], (2, 5, 5)),
    "ZeroPadding2D-sides": ([L.ZeroPadding2D(((0, 2), (3, 1))), L.Conv2D(2, 3)], (2, 5, 5)),
    # normalization
    "BatchNormalization-2D": ([L.Conv2D(4, 3), L.BatchNormalization(eps=1e-3), L.ReLU()], (3, 6, 6)),
    "BatchNormalization-1D": ([L.Conv1D(4, 3), L.BatchNormalization()], (3, 8)),
    "BatchNormalization-features": ([L.Dense(5), L.BatchNormalization(), L.Dense(2)], (4,)),
    "BatchNormalization-no-center-scale": ([L.Dense(5), L.BatchNormalization(center=False, scale=False)], (4,)),
    "BatchNormalization-no-scale": ([L.Conv2D(4, 3), L.BatchNormalization(scale=False)], (3, 6, 6)),
    "LayerNormalization": ([L.Dense(6), L.LayerNormalization(eps=1e-3), L.Dense(2)], (4,)),
    "LayerNormalization-sequences": ([L.Dense(6), L.LayerNormalization()], (5, 4)),
    "LayerNormalization-no-center-scale": ([L.Dense(6), L.LayerNormalization(center=False, scale=False)], (4,)),
    "LayerNormalization-no-center": ([L.Dense(6), L.LayerNormalization(center=False)], (4,)),
}


@pytest.mark.parametrize("case", list(LAYER_CASES))
def test_layer(case):
    layers, shape = LAYER_CASES[case]
    model = _model(layers, shape)
    _compare(model, _normal(shape))


@pytest.mark.parametrize("crop", [dict(height=6, width=6), dict(height=5, width=7, padding=1)])
def test_random_crop_centre_window(crop):
    model = _model([L.RandomCrop(**crop), L.Conv2D(2, 3)], (2, 8, 8))
    _compare(model, _normal((2, 8, 8)))


def test_normalization_adapt():
    rng = np.random.default_rng(5)
    data = rng.normal(size=(200, 4)) * [1.0, 3.0, 0.2, 10.0] + [5.0, -2.0, 0.1, 40.0]
    norm = L.Normalization()
    model = entrena.Sequential([norm, L.Dense(3, activation="tanh")], input_shape=(4,), seed=3)
    norm.adapt(data)
    mean = dict(model.named_buffers())["normalization_0.mean"]
    assert not np.allclose(mean, 0.0)
    _perturb(model, seed=4)      # also rewrites mean and variance
    _compare(model, lambda n: (rng.normal(size=(n, 4)) * [1.0, 3.0, 0.2, 10.0] + [5, -2, 0.1, 40]
                               ).astype(np.float32))


def test_normalization_adapt_on_sequences_only():
    # adapt alone (no other perturbation), on (n, steps, features) data.
    rng = np.random.default_rng(6)
    data = rng.normal(size=(50, 5, 3)) * [2.0, 0.5, 4.0] + [1.0, -3.0, 7.0]
    norm = L.Normalization()
    model = entrena.Sequential([norm], input_shape=(5, 3), seed=3)
    norm.adapt(data)
    _compare(model, lambda n: (rng.normal(size=(n, 5, 3)) * 3 + 2).astype(np.float32))


def test_embedding():
    model = _model([L.Embedding(11, 4), L.Flatten(), L.Dense(3)], (5,))
    _compare(model, _ids(5, 11))


def test_embedding_alone_on_every_id():
    model = _model([L.Embedding(9, 3)], (9,))
    _compare(model, lambda n: np.tile(np.arange(9, dtype=np.float32), (n, 1)))


def _cell(kind, units, **kwargs):
    if kind.startswith("SimpleRNN"):
        return L.SimpleRNN(units, activation=kind.split("-")[1], **kwargs)
    return {"LSTM": L.LSTM, "GRU": L.GRU}[kind](units, **kwargs)


CELLS = ["SimpleRNN-tanh", "SimpleRNN-relu", "LSTM", "GRU"]
RECURRENT_OPTIONS = {
    "last": {},
    "sequences": dict(return_sequences=True),
    "backwards": dict(go_backwards=True),
    "backwards-sequences": dict(go_backwards=True, return_sequences=True),
    "no-bias": dict(use_bias=False),
    "dropout": dict(dropout=0.5),
}


@pytest.mark.parametrize("option", list(RECURRENT_OPTIONS))
@pytest.mark.parametrize("kind", CELLS)
def test_recurrent(kind, option):
    model = _model([_cell(kind, 5, **RECURRENT_OPTIONS[option])], (6, 3), scale=0.4)
    _compare(model, _normal((6, 3), scale=1.0))


@pytest.mark.parametrize("merge", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("kind", CELLS)
def test_bidirectional(kind, merge):
    model = _model([L.Bidirectional(_cell(kind, 4), merge_mode=merge), L.Dense(2)], (6, 3), scale=0.4)
    _compare(model, _normal((6, 3), scale=1.0))


@pytest.mark.parametrize("merge", ["concat", "mul"])
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_bidirectional_sequences_stacked(kind, merge):
    model = _model([L.Bidirectional(_cell(kind, 4, return_sequences=True), merge_mode=merge),
                    L.Bidirectional(_cell(kind, 3, use_bias=False), merge_mode=merge)], (5, 3), scale=0.4)
    _compare(model, _normal((5, 3), scale=1.0))


def test_float64_model():
    # A float64 model exports float32 weights: equal within float32 rounding.
    model = _model([L.Conv1D(4, 3, padding="same", activation="gelu"), L.Flatten(),
                    L.Dense(6, activation="silu"), L.Dense(3)], (2, 7), dtype="float64")
    _compare(model, _normal((2, 7)))


def test_bidirectional_over_go_backwards_is_rejected():
    model = _model([L.Bidirectional(L.GRU(3, go_backwards=True))], (4, 2))
    with pytest.raises(ValueError, match="go_backwards"):
        export_onnx(model)


# ---------------------------------------------------------------- opsets
@pytest.mark.parametrize("opset", [17, 18, 20, 21])
def test_opsets(opset):
    model = _model([L.Masking(), L.Bidirectional(L.GRU(5, return_sequences=True), merge_mode="ave"),
                    L.Dense(4, activation="gelu"), L.Dense(4, activation="gelu_tanh"), L.GELU(),
                    L.Bidirectional(L.GRU(3), merge_mode="sum"), L.Dense(2)], (6, 3), scale=0.4)
    with pytest.warns(UserWarning, match="sequence_lens"):
        proto = export_onnx(model, opset=opset)
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", opset)]
    ops = _ops(proto)
    if opset >= 20:
        assert ops.count("Gelu") == 3 and "Erf" not in ops
        approx = sorted(a.s.decode() for n in proto.graph.node if n.op_type == "Gelu" for a in n.attribute
                        if a.name == "approximate")
        assert approx == ["none", "none", "tanh"]
    else:
        assert "Gelu" not in ops and ops.count("Erf") == 2
    reduces = [n for n in proto.graph.node if n.op_type in ("ReduceMin", "ReduceMean")]
    assert {n.op_type for n in reduces} == {"ReduceMin", "ReduceMean"}
    for n in reduces:
        assert len(n.input) == (2 if opset >= 18 else 1)
        assert any(a.name == "axes" for a in n.attribute) == (opset < 18)
    _compare(model, lambda n: _post_padded(n, 6, 3), proto=proto)


@pytest.mark.parametrize("opset", [17, 21])
def test_model_method_opset(tmp_path, opset):
    model = _model([L.Dense(4, activation="gelu")], (3,))
    proto = model.export_onnx(tmp_path / "m.onnx", opset=opset)
    assert proto.opset_import[0].version == opset
    assert onnx.load(str(tmp_path / "m.onnx")).opset_import[0].version == opset
    _compare(model, _normal((3,)), proto=proto)


# ---------------------------------------------------------------- masks
def test_embedding_padding_idx_lstm_bidirectional_gru():
    model = _model([L.Embedding(12, 5, padding_idx=0), L.LSTM(6, return_sequences=True),
                    L.Bidirectional(L.GRU(4)), L.Dense(3)], (6,), scale=0.4,
                   keep_zero_rows={"embedding_0.W": 0})
    with pytest.warns(UserWarning, match="padding is at the end"):
        proto = export_onnx(model)
    _compare(model, lambda n: _post_padded_ids(n, 6, 12), proto=proto)


@pytest.mark.parametrize("mask_value", [0.0, -1.0])
def test_masking_gru_go_backwards(mask_value):
    model = _model([L.Masking(mask_value), L.GRU(5, go_backwards=True), L.Dense(2)], (6, 3), scale=0.4)
    with pytest.warns(UserWarning, match="sequence_lens"):
        proto = export_onnx(model)
    _compare(model, lambda n: _post_padded(n, 6, 3, pad=mask_value), proto=proto)


@pytest.mark.parametrize("kind", CELLS)
def test_masking_sequences_output(kind):
    # Masked steps of return_sequences outputs agree too, and so does a
    # Bidirectional layer after them.
    model = _model([L.Masking(), _cell(kind, 4, return_sequences=True),
                    L.Bidirectional(_cell(kind, 3, return_sequences=True))], (6, 3), scale=0.4)
    with pytest.warns(UserWarning):
        proto = export_onnx(model)
    _compare(model, lambda n: _post_padded(n, 6, 3), proto=proto)


def test_masking_whole_padded_sequence():
    model = _model([L.Masking(), L.LSTM(4), L.Dense(2)], (6, 3), scale=0.4)
    with pytest.warns(UserWarning):
        proto = export_onnx(model)
    _check_graph(proto)
    X = _post_padded(3, 6, 3)
    X[1] = 0.0           # no real step at all
    np.testing.assert_allclose(_run(proto, X), model.predict(X), rtol=RTOL, atol=ATOL)


def test_no_mask_no_warning():
    model = _model([L.Embedding(5, 3), L.GRU(4)], (6,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proto = export_onnx(model)
    rnn = [n for n in proto.graph.node if n.op_type == "GRU"]
    assert len(rnn) == 1 and (len(rnn[0].input) < 5 or rnn[0].input[4] == "")


# --------------------------------------------------------- trained models
@pytest.fixture(scope="module")
def digits():
    X, y = entrena.datasets.load_digits()
    return (X / 16.0).astype(np.float32), y


def test_trained_mlp_on_digits(tmp_path, digits):
    X, y = digits
    model = entrena.Sequential([L.Dense(32, activation="relu"), L.Dropout(0.1),
                                L.Dense(16, activation="gelu"), L.Dense(10)], input_shape=(64,), seed=0)
    model.compile(loss="categorical_crossentropy", optimizer=entrena.Adam(lr=0.01), metrics=["accuracy"])
    model.fit(X[:1400], y[:1400], epochs=4, batch_size=64, verbose=0, seed=0)
    path = tmp_path / "digits.onnx"
    model.export_onnx(path)
    proto = onnx.load(str(path))
    _check_graph(proto)
    test = X[1400:]
    got = _run(proto, test)
    np.testing.assert_allclose(got, model.predict(test), rtol=RTOL, atol=1e-5)
    np.testing.assert_array_equal(got.argmax(axis=1), model.predict_classes(test))
    assert (got.argmax(axis=1) == y[1400:]).mean() > 0.85
    _compare(model, lambda n: X[:n], proto=proto, atol=1e-5)


def test_trained_cnn_on_digit_images(tmp_path):
    X, y = entrena.datasets.load_digits(as_images=True)
    X = (X / 16.0).astype(np.float32)
    model = entrena.Sequential([L.Conv2D(8, 3, padding="same", activation="relu"), L.BatchNormalization(),
                                L.MaxPool2D(2), L.Conv2D(8, 3, activation="relu"),
                                L.GlobalAveragePooling2D(), L.Dense(10)], input_shape=(1, 8, 8), seed=0)
    model.compile(loss="categorical_crossentropy", optimizer=entrena.Adam(lr=0.01))
    model.fit(X[:1400], y[:1400], epochs=3, batch_size=64, verbose=0, seed=0)
    path = tmp_path / "cnn.onnx"
    export_onnx(model, path)
    proto = onnx.load(str(path))
    _check_graph(proto)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim[1:]] == [1, 8, 8]
    test = X[1400:]
    got = _run(proto, test)
    np.testing.assert_allclose(got, model.predict(test), rtol=RTOL, atol=1e-5)
    np.testing.assert_array_equal(got.argmax(axis=1), model.predict_classes(test))


# ----------------------------------------------------------- writing
def test_written_atomically(tmp_path):
    model = _model([L.Dense(3)], (2,))
    path = tmp_path / "m.onnx"
    proto = export_onnx(model, path)
    assert os.listdir(tmp_path) == ["m.onnx"]
    assert path.read_bytes() == proto.SerializeToString()
    # Overwriting, with a str path, leaves one file too.
    _perturb(model, seed=9)
    proto2 = export_onnx(model, str(path))
    assert os.listdir(tmp_path) == ["m.onnx"]
    assert path.read_bytes() == proto2.SerializeToString() != proto.SerializeToString()
    _compare(model, _normal((2,)), proto=onnx.load(str(path)))


def test_returns_proto_without_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    proto = export_onnx(_model([L.Dense(3)], (2,)))
    assert isinstance(proto, onnx.ModelProto)
    assert os.listdir(tmp_path) == []


def test_missing_directory(tmp_path):
    model = _model([L.Dense(3)], (2,))
    with pytest.raises(FileNotFoundError):
        export_onnx(model, tmp_path / "missing" / "m.onnx")
    assert os.listdir(tmp_path) == []
    with pytest.raises(OSError):
        model.export_onnx(str(tmp_path / "missing" / "m.onnx"))
    assert os.listdir(tmp_path) == []


def test_failed_export_keeps_the_old_file(tmp_path):
    path = tmp_path / "m.onnx"
    export_onnx(_model([L.Dense(3)], (2,)), path)
    before = path.read_bytes()
    bad = _model([L.Bidirectional(L.GRU(3, go_backwards=True))], (4, 2))
    with pytest.raises(ValueError):
        export_onnx(bad, path)
    assert os.listdir(tmp_path) == ["m.onnx"]
    assert path.read_bytes() == before


# ------------------------------------------------------ bad arguments
@pytest.mark.parametrize("opset", [16, 0, -1, "17", 17.0, True, None])
def test_bad_opset(opset):
    model = _model([L.Dense(3)], (2,))
    with pytest.raises(ValueError, match="opset"):
        export_onnx(model, opset=opset)
    with pytest.raises(ValueError, match="opset"):
        model.export_onnx(opset=opset)


@pytest.mark.parametrize("kw, exc, match", [
    ({"input_scaling": ([0.0, 0.0], [1.0, 0.0])}, ValueError, "input_scaling: scale must not be 0"),
    ({"input_scaling": ([0.0, np.nan], [1.0, 1.0])}, ValueError, "input_scaling: mean must be finite"),
    ({"input_scaling": ([0.0, 0.0, 0.0], 1.0)}, ValueError, r"input_scaling: mean of shape \(3,\) does not fit"),
    ({"input_scaling": 2.0}, TypeError, "input_scaling: expected a pair"),
    ({"input_scaling": ("a", 1.0)}, TypeError, "input_scaling: mean must be numbers"),
    ({"output_scaling": (1.0, np.inf)}, ValueError, "output_scaling: shift must be finite"),
    ({"output_scaling": ([1.0, 2.0], 0.0)}, ValueError, "output_scaling: scale of shape"),
])
def test_bad_scaling(tmp_path, kw, exc, match):
    model = _model([L.Dense(3)], (2,))
    path = tmp_path / "m.onnx"
    with pytest.raises(exc, match=match):
        export_onnx(model, path, **kw)
    assert not path.exists()
    export_onnx(model, path, input_scaling=(np.zeros(2), 2.0), output_scaling=(0.5, np.ones(3)))   # these fit


def test_bad_path(tmp_path):
    model = _model([L.Dense(3)], (2,))
    with pytest.raises(ValueError, match="path: expected a file path, got ''"):
        export_onnx(model, "")
    with pytest.raises(ValueError, match="a directory"):
        export_onnx(model, tmp_path)
    assert os.listdir(tmp_path) == []
    with pytest.raises(TypeError, match="path: expected a file path"):
        export_onnx(model, 123)
    with pytest.raises(FileNotFoundError, match=r"no-such-dir/m.onnx: cannot write"):
        export_onnx(model, tmp_path / "no-such-dir" / "m.onnx")
    assert export_onnx(model, opset=np.int64(18)).opset_import[0].version == 18


def test_opset_beyond_onnx(tmp_path):
    model = _model([L.Dense(3)], (2,))
    newest = onnx.defs.onnx_opset_version()
    with pytest.raises(ValueError, match="opset"):
        export_onnx(model, tmp_path / "m.onnx", opset=newest + 1)
    assert os.listdir(tmp_path) == []
    assert export_onnx(model, opset=newest).opset_import[0].version == newest


def test_unbuilt_model(tmp_path):
    model = entrena.Sequential([L.Dense(3)], seed=0)
    assert not model.built
    with pytest.raises(RuntimeError, match="built"):
        export_onnx(model, tmp_path / "m.onnx")
    with pytest.raises(RuntimeError):
        model.export_onnx(tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------- command line
def _entrena(*args, cwd):
    return subprocess.run([sys.executable, "-m", "entrena", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def _read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def cli_models(tmp_path_factory):
    """A classifier (labels 'ant', 'bee', 'cat') and a regressor trained by
    'python -m entrena train' on CSV files whose features have scales far
    from 1, with the predictions 'python -m entrena predict' writes."""
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3)) * [1.0, 5.0, 20.0] + [0.5, 3.0, -40.0]
    score = X[:, 0] + 0.2 * X[:, 1] - 0.05 * X[:, 2]
    labels = np.array(["ant", "bee", "cat"])[np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))]
    target = 3.0 * X[:, 0] - 0.4 * X[:, 1] + 0.1 * X[:, 2] + 100.0 + rng.normal(0.0, 0.1, 150)
    out = {}
    for task, y, name in (("classification", labels, "kind"), ("regression", target, "value")):
        data = d / f"{task}.csv"
        _write_csv(data, ["a", "b", name, "c"],
                   [[f"{r[0]:.6f}", f"{r[1]:.6f}", f"{t:.6f}" if task == "regression" else t, f"{r[2]:.6f}"]
                    for r, t in zip(X, y)])
        feats = d / f"{task}_features.csv"
        _write_csv(feats, ["c", "a", "b"], [[f"{r[2]:.6f}", f"{r[0]:.6f}", f"{r[1]:.6f}"] for r in X[:40]])
        model = d / f"{task}.safetensors"
        r = _entrena("train", "--data", data, "--target", name, "--epochs", 3, "--hidden", "16,8",
                     "--out", model, "--quiet", cwd=d)
        assert r.returncode == 0, r.stderr
        pred = d / f"{task}_pred.csv"
        r = _entrena("predict", "--model", model, "--data", feats, "--out", pred, cwd=d)
        assert r.returncode == 0, r.stderr
        header, rows = _read_csv(pred)
        assert header == [name]
        out[task] = dict(dir=d, model=model, features=X[:40], target=name,
                         predicted=[row[0] for row in rows])
    return out


def _check_cli_onnx(m, task, onnx_path):
    proto = onnx.load(str(onnx_path))
    _check_graph(proto)
    got = _run(proto, m["features"])       # the raw columns a, b, c in training order
    if task == "regression":
        assert got.shape == (40, 1)
        np.testing.assert_allclose(got[:, 0], np.array(m["predicted"], dtype=float), rtol=1e-5, atol=1e-4)
    else:
        assert got.shape == (40, 3)
        classes = np.array(["ant", "bee", "cat"])
        assert list(classes[got.argmax(axis=1)]) == m["predicted"]


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_cli_scaling_folded_into_graph(cli_models, task, tmp_path):
    """What 'export' does (the input standardization and, for regression,
    the target's, folded into the graph), through export_onnx's own
    arguments: the ONNX model on raw feature columns gives what 'predict'
    writes."""
    import json
    m = cli_models[task]
    model = entrena.load(m["model"], compile=False)
    info = json.loads(model.metadata["entrena_cli"])
    assert info["task"] == task
    pre = (np.array(info["scaler_mean"]), np.array(info["scaler_scale"]))
    post = (np.array(info["y_std"]), np.array(info["y_mean"])) if task == "regression" else None
    out = tmp_path / "m.onnx"
    export_onnx(model, out, input_scaling=pre, output_scaling=post)
    _check_cli_onnx(m, task, out)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_cli_export(cli_models, task):
    m = cli_models[task]
    out = m["dir"] / f"{task}.onnx"
    r = _entrena("export", "--model", m["model"], "--out", out, cwd=m["dir"])
    assert r.returncode == 0, r.stderr
    assert "input columns: a, b, c" in r.stdout
    _check_cli_onnx(m, task, out)


@pytest.mark.parametrize("opset", [17, 20])
def test_cli_run_export(cli_models, tmp_path, capsys, opset):
    # entrena.cli.run, past __main__'s dispatch.
    from entrena.cli import run
    m = cli_models["regression"]
    out = tmp_path / "m.onnx"
    assert run(["export", "--model", str(m["model"]), "--out", str(out), "--opset", str(opset)]) == 0, \
        capsys.readouterr().err
    assert onnx.load(str(out)).opset_import[0].version == opset
    _check_cli_onnx(m, "regression", out)


def test_cli_run_export_missing_model(tmp_path, capsys):
    from entrena.cli import run
    assert run(["export", "--model", str(tmp_path / "none.safetensors"), "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "no such file" in err
    assert os.listdir(tmp_path) == []


def test_cli_export_missing_model(tmp_path):
    r = _entrena("export", "--model", tmp_path / "none.safetensors", "--out", tmp_path / "m.onnx", cwd=tmp_path)
    assert r.returncode == 2
    assert "error:" in r.stderr and "no such file" in r.stderr
    assert "Traceback" not in r.stderr
    assert os.listdir(tmp_path) == []


def test_a_layer_that_changes_the_steps_drops_the_mask():
    """After Reshape the engine drops the mask over steps (the next GRU runs
    every step): the graph must not pass the first layers' sequence lengths on."""
    rng = np.random.default_rng(5)

    def ids(n):
        x = rng.integers(1, 10, size=(n, 6)).astype(np.float32)
        for i in range(n):
            x[i, rng.integers(2, 7):] = 0          # post-padded
        return x
    model = _model([L.Embedding(10, 4, padding_idx=0), L.LSTM(8), L.Reshape((4, 2)), L.GRU(3)], (6,))
    with pytest.warns(UserWarning, match="sequence_lens"):
        proto = export_onnx(model)
    _compare(model, ids, proto=proto)
