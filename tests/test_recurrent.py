"""Recurrent layers: the rnn kernel (SimpleRNN tanh/ReLU, LSTM, GRU) against
its NumPy twin on every ISA variant, float32 and float64, forward and
backward, with and without masks, biases, initial states, in both
directions; the same bits on one and two threads; finite differences of
every kernel gradient. The layers: gradcheck of small models (LSTM, GRU,
SimpleRNN, per-step Dense, Bidirectional in every merge mode, Embedding and
Masking with masks, stacks), the recurrent state through the step API
(initial_state, return_state, state_grads, initial_state_grad), mask
semantics (padding changes nothing, per-step losses over real steps),
Embedding against its twin and its id checks, go_backwards, input dropout,
save and load, bad arguments, and two small training runs."""
import warnings

import numpy as np
import pytest

import entrena
from entrena import _core
from entrena import layers as L
from entrena.reference import recurrent as ref
from helpers import assert_same, check_gradient, numerical_gradient, same_on_one_and_two_threads

K_ = _core.kernels
CELLS = ["tanh", "relu", "lstm", "gru"]
OUTPUTS = ["y", "h", "c", "dx", "dW_ih", "dW_hh", "db_ih", "db_hh", "dh0", "dc0"]


# ------------------------------------------------------ operands
def step_mask(n, steps):
    """A mask (n, steps) with every pattern: all real, padding at the end,
    padding at the start, holes, and (for n >= 5) a sequence of padding only."""
    rows = [np.ones(steps), np.r_[np.ones(steps - steps // 2), np.zeros(steps // 2)],
            np.r_[np.zeros(steps // 3), np.ones(steps - steps // 3)],
            np.arange(steps) % 3 != 1, np.zeros(steps)]
    out = np.array([rows[i % len(rows)] for i in range(n)], dtype=np.uint8)
    if n > len(rows):
        out[len(rows):] = np.random.default_rng(n).random((n - len(rows), steps)) > 0.3
    return out


def operands(rng, cell, n, steps, F, H, *, bias=True, state=True, masked=False, reverse=False):
    """The kernel's arguments: float arrays (float64) and the others."""
    G = ref.GATES[cell]
    k = 1.0 / np.sqrt(H)
    lstm = cell == "lstm"
    a = {"x": rng.standard_normal((n, steps, F)),
         "W_ih": rng.uniform(-k, k, (F, G * H)), "W_hh": rng.uniform(-k, k, (H, G * H)),
         "dy": rng.standard_normal((n, steps, H)), "dh_last": rng.standard_normal((n, H))}
    if lstm:
        a["dc_last"] = rng.standard_normal((n, H))
    if bias:
        a["b_ih"] = rng.uniform(-k, k, G * H)
        a["b_hh"] = rng.uniform(-k, k, G * H)
    if state:
        a["h0"] = 0.5 * rng.standard_normal((n, H))
        if lstm:
            a["c0"] = 0.5 * rng.standard_normal((n, H))
    other = {"reverse": reverse}
    if masked:
        other["mask"] = step_mask(n, steps)
    return a, other


def run_kernel(fn, cell, arrays, other, dtype):
    cast = {k: np.ascontiguousarray(v, dtype=dtype) for k, v in arrays.items()}
    out = fn(cell, cast.pop("x"), cast.pop("W_ih"), cast.pop("W_hh"), **cast, **other)
    return out


def kernel_vs_twin(cell, arrays, other, dtype, *, scale=1.0):
    """Runs the kernel in dtype and the twin in float64 on the same (cast)
    inputs; compares every output. Returns the kernel's dict."""
    dtype = np.dtype(dtype)
    as_dtype = {k: np.asarray(v, dtype=dtype).astype(np.float64) for k, v in arrays.items()}
    got = run_kernel(K_.rnn, cell, arrays, other, dtype)
    want = run_kernel(ref.rnn, cell, as_dtype, other, np.float64)
    assert set(got) == set(OUTPUTS)
    for k in OUTPUTS:
        big = max(1.0, float(np.abs(want[k]).max(initial=0.0)))
        if dtype == np.float32:
            rtol, atol = 1e-4, 2e-5 * big * scale
        else:
            rtol, atol = 1e-10, 1e-12 * big * scale
        assert_same(got[k], want[k], dtype, rtol=rtol, atol=atol, what=f"{cell} {k}")
    return got


# ------------------------------------------------------ kernel vs NumPy
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("state", [False, True], ids=["zero_state", "h0c0"])
@pytest.mark.parametrize("bias", [False, True], ids=["nobias", "bias"])
def test_rnn_kernel_matches_twin(isa, dtype, rng, cell, reverse, masked, state, bias):
    arrays, other = operands(rng, cell, 5, 6, 4, 5, bias=bias, state=state, masked=masked, reverse=reverse)
    got = kernel_vs_twin(cell, arrays, other, dtype)
    # What the comparison relies on, stated on its own.
    if masked:
        m = other["mask"].astype(bool)
        assert not got["y"][~m].any(), "masked steps output zeros"
        if not state:
            assert not got["h"][4].any(), "a sequence of padding only keeps the zero state"
    if not bias:
        assert not got["db_ih"].any() and not got["db_hh"].any()
    if cell != "lstm":
        assert not got["c"].any() and not got["dc0"].any()


@pytest.mark.parametrize("cell", CELLS)
def test_rnn_kernel_without_output_gradients(isa, dtype, rng, cell):
    # dy, dh_last, dc_last all None: every gradient is zero.
    arrays, other = operands(rng, cell, 3, 4, 2, 3, masked=True)
    for k in ("dy", "dh_last", "dc_last"):
        arrays.pop(k, None)
    got = kernel_vs_twin(cell, arrays, other, dtype)
    for k in OUTPUTS[3:]:
        assert not got[k].any(), k
    # Only the final state's gradient: dy None.
    arrays, other = operands(rng, cell, 3, 4, 2, 3, reverse=True)
    arrays.pop("dy")
    got = kernel_vs_twin(cell, arrays, other, dtype)
    assert np.abs(got["dW_hh"]).max() > 0


@pytest.mark.parametrize("cell", CELLS)
def test_rnn_kernel_one_step_and_one_unit(isa, dtype, rng, cell):
    for n, steps, F, H in ((1, 1, 1, 1), (3, 1, 2, 4), (2, 7, 1, 1)):
        arrays, other = operands(rng, cell, n, steps, F, H, masked=n >= 2)
        kernel_vs_twin(cell, arrays, other, dtype)


@pytest.mark.parametrize("cell", CELLS)
def test_rnn_kernel_all_real_mask_is_no_mask(dtype, rng, cell):
    arrays, other = operands(rng, cell, 4, 5, 3, 4)
    plain = run_kernel(K_.rnn, cell, arrays, other, dtype)
    ones = run_kernel(K_.rnn, cell, arrays, {**other, "mask": np.ones((4, 5), np.uint8)}, dtype)
    for k in OUTPUTS:
        np.testing.assert_array_equal(plain[k], ones[k], err_msg=k)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("n,masked,reverse", [(32, False, False), (37, True, True)],
                         ids=["n32", "n37_masked_reverse"])
def test_rnn_kernel_same_bits_on_one_and_two_threads(isa, dtype, rng, threads, cell, n, masked, reverse):
    arrays, other = operands(rng, cell, n, 20, 8, 64, masked=masked, reverse=reverse)
    cast = {k: np.ascontiguousarray(v, dtype=dtype) for k, v in arrays.items()}

    def run():
        out = K_.rnn(cell, cast["x"], cast["W_ih"], cast["W_hh"],
                     **{k: v for k, v in cast.items() if k not in ("x", "W_ih", "W_hh")}, **other)
        return tuple(out[k] for k in OUTPUTS)

    one = same_on_one_and_two_threads(run)
    assert np.abs(one[OUTPUTS.index("dW_hh")]).max() > 0
    if dtype == np.float64:
        want = run_kernel(ref.rnn, cell, arrays, other, np.float64)
        for k, g in zip(OUTPUTS, one):
            np.testing.assert_allclose(g, want[k], rtol=1e-9, atol=1e-10, err_msg=k)


# ------------------------------------------------------ finite differences
FD_VARIANTS = {"plain": (False, False), "masked": (True, False), "reverse": (False, True),
               "masked_reverse": (True, True)}


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("variant", list(FD_VARIANTS))
def test_rnn_kernel_gradients_by_finite_differences(rng, cell, variant):
    masked, reverse = FD_VARIANTS[variant]
    arrays, other = operands(rng, cell, 5, 4, 2, 3, masked=masked, reverse=reverse)
    lstm = cell == "lstm"
    got = run_kernel(K_.rnn, cell, arrays, other, np.float64)
    dy, dh, dc = arrays["dy"], arrays["dh_last"], arrays.get("dc_last")

    def loss_with(name):
        def f(v):
            a = dict(arrays, **{name: v})
            out = run_kernel(K_.rnn, cell, a, other, np.float64)
            value = np.sum(out["y"] * dy) + np.sum(out["h"] * dh)
            return value + (np.sum(out["c"] * dc) if lstm else 0.0)
        return f

    pairs = [("x", "dx"), ("W_ih", "dW_ih"), ("W_hh", "dW_hh"), ("b_ih", "db_ih"), ("b_hh", "db_hh"),
             ("h0", "dh0")] + ([("c0", "dc0")] if lstm else [])
    for name, grad in pairs:
        check_gradient(loss_with(name), got[grad], arrays[name], rtol=1e-6, atol=1e-8,
                       what=f"{cell} {variant} {grad}")
    if masked:
        # The sequence of padding only: the final state is the initial one.
        np.testing.assert_array_equal(got["dh0"][4], dh[4])
        assert not got["dx"][~other["mask"].astype(bool)].any()


# ------------------------------------------------------ kernel arguments
def test_rnn_kernel_bad_arguments():
    x = np.ones((2, 5, 3))
    W, Wh = np.zeros((3, 16)), np.zeros((4, 16))
    with pytest.raises(ValueError, match="cell: expected 'tanh', 'relu', 'lstm' or 'gru', got 'foo'"):
        K_.rnn("foo", x, W, Wh)
    with pytest.raises(ValueError, match=r"W_ih: expected shape \(3, 16\), got \(3, 12\)"):
        K_.rnn("lstm", x, W[:, :12], Wh)
    with pytest.raises(ValueError, match=r"W_ih: expected shape \(3, 12\), got \(3, 16\)"):
        K_.rnn("gru", x, W, Wh[:, :12])
    with pytest.raises(ValueError, match=r"mask: expected shape \(2, 5\), got \(2, 4\)"):
        K_.rnn("lstm", x, W, Wh, mask=np.ones((2, 4), np.uint8))
    with pytest.raises(ValueError, match=r"h0: expected shape \(2, 4\), got \(3, 4\)"):
        K_.rnn("lstm", x, W, Wh, h0=np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"b_hh: expected shape \(16,\), got \(4,\)"):
        K_.rnn("lstm", x, W, Wh, b_hh=np.ones(4))
    with pytest.raises(ValueError, match=r"dy: expected shape \(2, 5, 4\), got \(2, 5, 3\)"):
        K_.rnn("lstm", x, W, Wh, dy=np.ones((2, 5, 3)))
    with pytest.raises(ValueError, match="x: expected a 3-D array, got 2-D"):
        K_.rnn("lstm", x[0], W, Wh)
    with pytest.raises(ValueError, match="cell"):
        ref.rnn("elman", x, W, Wh)


# ------------------------------------------------------ layers: gradcheck
GRADCHECK_MODELS = {
    "lstm": (lambda: [L.LSTM(3), L.Dense(2)], "seq"),
    "gru": (lambda: [L.GRU(3), L.Dense(2)], "seq"),
    "simple_tanh": (lambda: [L.SimpleRNN(3), L.Dense(2)], "seq"),
    "simple_relu": (lambda: [L.SimpleRNN(3, "relu"), L.Dense(2)], "seq"),
    "lstm_nobias_backwards": (lambda: [L.LSTM(3, use_bias=False, go_backwards=True), L.Dense(2)], "seq"),
    "per_step_dense": (lambda: [L.LSTM(3, return_sequences=True), L.Dense(2)], "per_step"),
    "gru_per_step_backwards": (lambda: [L.GRU(3, return_sequences=True, go_backwards=True), L.Dense(2)],
                               "per_step"),
    "bidirectional_concat": (lambda: [L.Bidirectional(L.LSTM(2)), L.Dense(2)], "seq"),
    "bidirectional_sum": (lambda: [L.Bidirectional(L.GRU(2), merge_mode="sum"), L.Dense(2)], "seq"),
    "bidirectional_mul": (lambda: [L.Bidirectional(L.LSTM(2, return_sequences=True), merge_mode="mul"),
                                   L.Dense(2)], "per_step"),
    "bidirectional_ave": (lambda: [L.Bidirectional(L.SimpleRNN(2), merge_mode="ave"), L.Dense(2)], "seq"),
    "embedding_gru_masked": (lambda: [L.Embedding(6, 3, padding_idx=0), L.GRU(3), L.Dense(2)], "ids"),
    "embedding_bidirectional_per_step": (lambda: [L.Embedding(6, 2, padding_idx=0),
                                                  L.Bidirectional(L.GRU(2, return_sequences=True)),
                                                  L.Dense(2)], "ids_per_step"),
    "masking_lstm": (lambda: [L.Masking(0.0), L.LSTM(3), L.Dense(2)], "masked_seq"),
    "stacked": (lambda: [L.LSTM(3, return_sequences=True), L.GRU(2, return_sequences=True),
                         L.SimpleRNN(2), L.Dense(2)], "seq"),
    "stacked_masked": (lambda: [L.Masking(0.0), L.SimpleRNN(2, return_sequences=True, go_backwards=True),
                                L.Bidirectional(L.LSTM(2), merge_mode="ave"), L.Dense(2)], "masked_seq"),
}

STEPS, FEATURES = 5, 2


def padded_ids(rng, n, steps, vocab, pad=0, *, at_end=True):
    """ids (n, steps) in [1, vocab) with sequences of lengths 1..steps padded with pad."""
    ids = rng.integers(1, vocab, (n, steps)).astype(np.float64)
    lengths = np.r_[steps, 1, rng.integers(1, steps + 1, n)][:n]
    for i, length in enumerate(lengths):
        if at_end:
            ids[i, length:] = pad
        else:
            ids[i, :steps - length] = pad
    return ids, lengths


def masked_sequences(rng, n, steps, F, *, at_end=True):
    x = rng.standard_normal((n, steps, F))
    lengths = np.r_[steps, 1, rng.integers(1, steps + 1, n)][:n]
    for i, length in enumerate(lengths):
        if at_end:
            x[i, length:] = 0.0
        else:
            x[i, :steps - length] = 0.0
    return x, lengths


def gradcheck_data(rng, kind, n=4):
    if kind in ("ids", "ids_per_step"):
        X, _ = padded_ids(rng, n, STEPS, 6)
    elif kind == "masked_seq":
        X, _ = masked_sequences(rng, n, STEPS, FEATURES)
    else:
        X = rng.standard_normal((n, STEPS, FEATURES))
    shape = (n, STEPS) if kind in ("per_step", "ids_per_step") else (n,)
    return X, rng.integers(0, 2, shape)


@pytest.mark.parametrize("name", list(GRADCHECK_MODELS))
def test_gradcheck_small_recurrent_models(rng, name):
    layers, kind = GRADCHECK_MODELS[name]
    X, y = gradcheck_data(rng, kind)
    m = entrena.Sequential(layers(), input_shape=X.shape[1:], dtype="float64", seed=3)
    report = entrena.gradcheck(m, X, y, loss="categorical_crossentropy", eps=1e-5, max_checks=None)
    assert len(report) == len(m.named_parameters())
    # The worst relative error is that of the smallest entries (gradients
    # near 1e-7 carry a relative rounding noise near 1e-5); a wrong gradient
    # is off by orders of magnitude more.
    assert max(report.values()) < 1e-4, report


def test_gradcheck_catches_a_wrong_gradient(rng):
    # The check above can fail: a corrupted gradient is reported.
    X, y = gradcheck_data(rng, "seq")
    m = entrena.Sequential([L.GRU(3), L.Dense(2)], input_shape=X.shape[1:], dtype="float64", seed=3)
    loss = entrena.losses.get("categorical_crossentropy")
    m.eval()
    m.zero_grad()
    loss(m(X), y)
    loss.backward()
    g = dict(m.gradients())["gru_0.W_hh"].copy()
    P = dict(m.named_parameters())["gru_0.W_hh"]
    num = numerical_gradient(lambda v: (P.__setitem__(Ellipsis, v), loss(m(X), y))[1], P.copy())
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)
    assert not np.allclose(g, 1.01 * num, rtol=1e-6, atol=1e-9)


def test_gradcheck_a_float32_model_through_its_float64_twin(rng):
    X, y = gradcheck_data(rng, "ids")
    m = entrena.Sequential([L.Embedding(6, 3, padding_idx=0), L.LSTM(3), L.Dense(2)], input_shape=(STEPS,),
                           seed=4)
    report = entrena.gradcheck(m, X, y, loss="categorical_crossentropy", eps=1e-5, max_checks=20)
    assert max(report.values()) < 1e-4, report


@pytest.mark.parametrize("layer", [lambda: L.GRU(3), lambda: L.LSTM(3, go_backwards=True),
                                   lambda: L.SimpleRNN(3, "relu"), lambda: L.Bidirectional(L.GRU(3), "sum")],
                         ids=["gru", "lstm", "relu", "bidirectional_gru"])
def test_gradients_accumulate_over_backward_calls(rng, layer):
    m = entrena.Sequential([L.Embedding(5, 2, padding_idx=0), layer()], input_shape=(4,), dtype="float64", seed=0)
    ids = rng.integers(0, 5, (6, 4))
    out = m(ids)
    g = rng.standard_normal(out.shape)
    m.zero_grad()
    m.backward(g)
    once = {n: v.copy() for n, v in m.gradients()}
    m(ids)
    m.backward(g)
    for n, v in m.gradients():
        assert np.abs(once[n]).max() > 0, n
        np.testing.assert_allclose(v, 2 * once[n], rtol=1e-14, atol=1e-15, err_msg=n)


def test_training_is_the_same_on_one_and_two_threads(rng, threads):
    ids, _ = padded_ids(rng, 64, 8, 12)
    y = rng.integers(0, 3, 64)
    results = []
    for n in (1, 2):
        _core.set_num_threads(n)
        m = entrena.Sequential([L.Embedding(12, 8, padding_idx=0), L.Bidirectional(L.LSTM(32, return_sequences=True)),
                                L.GRU(32, dropout=0.2), L.Dense(3)], input_shape=(8,), seed=1)
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        m.fit(ids, y, epochs=2, batch_size=32, verbose=0)
        results.append(m.get_weights())
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------ state through the step API
def params_of(model, k):
    """The parameters of layer k, by their names in the layer (W_ih, forward_W_hh, ...)."""
    prefix = f"{type(model.layers[k]).__name__.lower()}_{k}."
    out = {n[len(prefix):]: p for n, p in model.named_parameters() if n.startswith(prefix)}
    assert out, f"no parameters for layer {k}"
    return out


def twin_of(cell, P, x, *, prefix="", h0=None, c0=None, mask=None, reverse=False):
    get = lambda k: P.get(prefix + k)  # noqa: E731
    return ref.rnn(cell, x, get("W_ih"), get("W_hh"), get("b_ih"), get("b_hh"), h0=h0, c0=c0, mask=mask,
                   reverse=reverse)


RECURRENT = {"lstm": L.LSTM, "gru": L.GRU, "tanh": lambda units, **kw: L.SimpleRNN(units, "tanh", **kw),
             "relu": lambda units, **kw: L.SimpleRNN(units, "relu", **kw)}


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
def test_initial_and_final_state_match_the_twin(rng, dtype, cell, return_sequences):
    n, H = 3, 4
    m = entrena.Sequential([RECURRENT[cell](H, return_sequences=return_sequences, return_state=True)],
                           input_shape=(STEPS, 3), dtype=dtype, seed=2)
    x = rng.standard_normal((n, STEPS, 3)).astype(dtype)
    init = [rng.standard_normal((n, H)).astype(dtype) for _ in range(2 if cell == "lstm" else 1)]
    out, states = m(x, initial_state=init)
    assert len(states) == len(init) and all(s.shape == (n, H) and s.dtype == dtype for s in states)
    P = {k: v.astype(np.float64) for k, v in params_of(m, 0).items()}
    want = twin_of(cell, P, x.astype(np.float64), h0=init[0], c0=init[1] if cell == "lstm" else None)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(out, want["y"] if return_sequences else want["h"], **tol)
    np.testing.assert_allclose(states[0], want["h"], **tol)
    if cell == "lstm":
        np.testing.assert_allclose(states[1], want["c"], **tol)
    # The initial state is for that call only: the next one starts from zeros.
    out2, states2 = m(x)
    zero = twin_of(cell, P, x.astype(np.float64))
    np.testing.assert_allclose(states2[0], zero["h"], **tol)
    assert not np.allclose(states2[0], states[0], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
def test_bidirectional_states_and_output_match_the_twin(rng, cell, merge_mode):
    n, H = 3, 3
    m = entrena.Sequential([L.Masking(0.0),
                            L.Bidirectional(RECURRENT[cell](H, return_sequences=True, return_state=True),
                                            merge_mode=merge_mode)],
                           input_shape=(STEPS, 2), dtype="float64", seed=5)
    x, _ = masked_sequences(rng, n, STEPS, 2)
    mask = (x != 0).any(axis=2).astype(np.uint8)
    lstm = cell == "lstm"
    init = [rng.standard_normal((n, H)) for _ in range(4 if lstm else 2)]
    out, states = m(x, initial_state=init)
    P = params_of(m, 1)
    half = len(init) // 2
    f = twin_of(cell, P, x, prefix="forward_", h0=init[0], c0=init[1] if lstm else None, mask=mask)
    b = twin_of(cell, P, x, prefix="backward_", h0=init[half], c0=init[half + 1] if lstm else None, mask=mask,
                reverse=True)
    merged = {"concat": np.concatenate([f["y"], b["y"]], axis=2), "sum": f["y"] + b["y"], "mul": f["y"] * b["y"],
              "ave": (f["y"] + b["y"]) / 2}[merge_mode]
    np.testing.assert_allclose(out, merged, rtol=1e-11, atol=1e-12)
    want = [f["h"], f["c"], b["h"], b["c"]] if lstm else [f["h"], b["h"]]
    assert len(states) == len(want)
    for s, w in zip(states, want):
        np.testing.assert_allclose(s, w, rtol=1e-11, atol=1e-12)


def _set(view, value):
    view[...] = value


def state_gradients_by_finite_differences(model, x, init, rng, layer=None):
    """Checks the parameters' gradients and initial_state_grad against
    central differences of sum(out·g) + Σ sum(state·dstate), the model in
    eval mode, float64."""
    model.eval()
    out, states = model(x, initial_state=init)
    g = rng.standard_normal(out.shape)
    sg = [rng.standard_normal(s.shape) for s in states]
    model.zero_grad()
    model.backward(g, state_grads=sg)
    grads = {n: v.copy() for n, v in model.gradients()}
    dinit = model.initial_state_grad(layer)
    arrays = init[layer] if isinstance(init, dict) else init
    assert len(dinit) == len(arrays) and all(d.shape == a.shape for d, a in zip(dinit, arrays))

    def loss(state=init):
        o, s = model(x, initial_state=state)
        return np.sum(o * g) + sum(np.sum(a * b) for a, b in zip(s, sg))

    for name, p in model.named_parameters():
        keep = p.copy()
        num = numerical_gradient(lambda v: (_set(p, v), loss())[1], keep)
        p[...] = keep
        np.testing.assert_allclose(grads[name], num, rtol=1e-6, atol=1e-8, err_msg=name)
    for i, a in enumerate(arrays):
        def f(v, i=i):
            new = list(arrays)
            new[i] = v
            return loss({**init, layer: new} if isinstance(init, dict) else new)
        np.testing.assert_allclose(dinit[i], numerical_gradient(f, a), rtol=1e-6, atol=1e-8,
                                   err_msg=f"initial state {i}")
    return grads, dinit


STATE_MODELS = {
    "lstm": (lambda: [L.LSTM(3, return_state=True), L.Dense(2)], 0, 2),
    "gru_sequences": (lambda: [L.GRU(3, return_sequences=True, return_state=True), L.Dense(2)], 0, 1),
    "tanh_backwards": (lambda: [L.SimpleRNN(3, return_state=True, go_backwards=True)], 0, 1),
    "relu": (lambda: [L.SimpleRNN(3, "relu", return_state=True)], 0, 1),
    "masking_lstm_sequences": (lambda: [L.Masking(0.0), L.LSTM(2, return_sequences=True, return_state=True)], 1, 2),
    "bidirectional_lstm": (lambda: [L.Bidirectional(L.LSTM(2, return_state=True), merge_mode="mul")], 0, 4),
    "bidirectional_gru_masked": (lambda: [L.Masking(0.0), L.Bidirectional(L.GRU(2, return_sequences=True,
                                                                                  return_state=True))], 1, 2),
}


@pytest.mark.parametrize("name", list(STATE_MODELS))
def test_state_gradients_by_finite_differences(rng, name):
    layers, k, count = STATE_MODELS[name]
    m = entrena.Sequential(layers(), input_shape=(4, 2), dtype="float64", seed=6)
    x, _ = masked_sequences(rng, 4, 4, 2)
    units = m.layers[k].engine_config().get("units") or m.layers[k].engine_config()["layer"]["units"]
    init = [0.5 * rng.standard_normal((4, units)) for _ in range(count)]
    grads, dinit = state_gradients_by_finite_differences(m, x, init, rng)
    assert all(np.abs(d).max() > 0 for d in dinit)


def test_state_gradients_of_one_layer_among_several(rng):
    # Two recurrent layers: the initial state is a dict {layer index: [...]}.
    m = entrena.Sequential([L.LSTM(3, return_sequences=True), L.GRU(2, return_state=True)],
                           input_shape=(4, 2), dtype="float64", seed=7)
    x = rng.standard_normal((3, 4, 2))
    init = {0: [rng.standard_normal((3, 3)), rng.standard_normal((3, 3))], 1: [rng.standard_normal((3, 2))]}
    for layer in (0, 1):
        state_gradients_by_finite_differences(m, x, init, rng, layer=layer)
    # The state of one layer only; the other starts from zeros.
    state_gradients_by_finite_differences(m, x, {1: init[1]}, rng, layer=1)
    m(x)
    m.backward(np.ones((3, 2)), state_grads=[np.ones((3, 2))])
    assert [a.shape for a in m.initial_state_grad(0)] == [(3, 3), (3, 3)]
    assert [a.shape for a in m.initial_state_grad(1)] == [(3, 2)]


def test_state_grads_reach_the_initial_state_without_an_output_gradient(rng):
    # With return_sequences=False the output is h: grad and dh add up.
    m = entrena.Sequential([L.GRU(3, return_state=True)], input_shape=(4, 2), dtype="float64", seed=8)
    x = rng.standard_normal((2, 4, 2))
    h0 = rng.standard_normal((2, 3))
    out, (h,) = m(x, initial_state=[h0])
    np.testing.assert_array_equal(out, h)
    g = rng.standard_normal(h.shape)
    m.zero_grad()
    m.backward(g, state_grads=[g])
    split = [v.copy() for _, v in m.gradients()], m.initial_state_grad()[0]
    m(x, initial_state=[h0])
    m.zero_grad()
    m.backward(2 * g)
    for a, (_, b) in zip(split[0], m.gradients()):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(split[1], m.initial_state_grad()[0], rtol=1e-13, atol=1e-14)


def test_state_api_errors(rng):
    m = entrena.Sequential([L.LSTM(4)], input_shape=(5, 3), dtype="float64", seed=1)
    x = rng.standard_normal((2, 5, 3))
    with pytest.raises(ValueError, match=r"initial_state: expected 2 arrays \(h, c\) for layer LSTM, got 1"):
        m(x, initial_state=[np.zeros((2, 4))])
    with pytest.raises(ValueError, match=r"initial_state\[0\] \(h\): expected shape \(n, 4\) with the same n "
                                         r"for every array, got \(2, 3\)"):
        m(x, initial_state=[np.zeros((2, 3)), np.zeros((2, 4))])
    with pytest.raises(ValueError, match=r"initial_state: expected arrays of 2 rows \(one per sample of x\) for "
                                         r"layer 0, got 3 rows in array 1"):
        m(x, initial_state=[np.zeros((2, 4)), np.zeros((3, 4))])
    with pytest.raises(ValueError, match=r"initial_state: expected arrays of 2 rows .* got 3 rows in array 0"):
        m(x, initial_state=[np.zeros((3, 4)), np.zeros((3, 4))])
    with pytest.raises(ValueError, match=r"initial_state\[0\]"):
        m(x, initial_state=[np.zeros(4), np.zeros(4)])
    with pytest.raises(TypeError, match="initial_state: expected a list of arrays"):
        m(x, initial_state=np.zeros((2, 4)))
    m(x)
    with pytest.raises(ValueError, match="state_grads: no layer of the model has return_state=True"):
        m.backward(np.zeros((2, 4)), state_grads=[np.zeros((2, 4)), np.zeros((2, 4))])
    with pytest.raises(ValueError, match=r"layer: expected the index of a recurrent layer \(\[0\]\), got 5"):
        m.initial_state_grad(layer=5)
    b = entrena.Sequential([L.Bidirectional(L.LSTM(4, return_state=True))], input_shape=(5, 3), dtype="float64")
    with pytest.raises(ValueError, match=r"initial_state: expected 4 arrays \(forward_h, forward_c, backward_h, "
                                         r"backward_c\) for layer Bidirectional, got 2"):
        b(x, initial_state=[np.zeros((2, 4))] * 2)
    out, states = b(x)
    assert out.shape == (2, 8) and [s.shape for s in states] == [(2, 4)] * 4
    with pytest.raises(ValueError, match=r"state_grads: expected 4 arrays \(as the call returned\), got 2"):
        b.backward(np.zeros_like(out), state_grads=states[:2])
    with pytest.raises(ValueError, match=r"state_grads: expected 2 rows \(the last batch\), got 3"):
        b.backward(np.zeros_like(out), state_grads=[np.zeros((3, 4))] * 4)
    with pytest.raises(TypeError, match="state_grads: expected a list of arrays"):
        b.backward(np.zeros_like(out), state_grads=np.zeros((4, 2, 4)))
    two = entrena.Sequential([L.LSTM(3, return_sequences=True), L.GRU(2)], input_shape=(5, 3))
    with pytest.raises(ValueError, match=r"initial_state: the model has 2 recurrent layers \[0, 1\]"):
        two(x, initial_state=[np.zeros((2, 2))])
    with pytest.raises(ValueError, match=r"initial_state: 2 is not the index of a recurrent layer"):
        two(x, initial_state={2: [np.zeros((2, 2))]})
    with pytest.raises(ValueError, match=r"layer: the model has 2 recurrent layers \[0, 1\]; give the index of one"):
        two.initial_state_grad()
    fresh = entrena.Sequential([L.GRU(3)], input_shape=(5, 3))
    fresh(x)
    with pytest.raises(RuntimeError, match="initial_state_grad: call backward"):
        fresh.initial_state_grad()
    plain = entrena.Sequential([L.Dense(3)], input_shape=(5, 3))
    with pytest.raises(ValueError, match="initial_state: the model has no recurrent layer"):
        plain(x, initial_state=[np.zeros((2, 3))])


def test_initial_state_of_a_failed_call_is_not_kept(rng):
    m = entrena.Sequential([L.Embedding(5, 3), L.GRU(4)], input_shape=(6,), dtype="float64", seed=1)
    ids = rng.integers(0, 5, (2, 6)).astype(np.float64)
    before = m(ids).copy()
    bad = ids.copy()
    bad[0, 0] = 7
    with pytest.raises(ValueError, match="ids"):
        m(bad, initial_state=[np.ones((2, 4))])
    with pytest.raises(ValueError, match=r"x: expected shape \(n, 6\)"):
        m(np.zeros((2, 5)), initial_state=[np.ones((2, 4))])
    np.testing.assert_array_equal(m(ids), before)


def test_state_grads_of_a_failed_backward_are_not_kept(rng):
    m = entrena.Sequential([L.LSTM(4, return_state=True)], input_shape=(5, 3), dtype="float64", seed=1)
    x = rng.standard_normal((2, 5, 3))
    out, states = m(x)
    with pytest.raises(ValueError, match="grad: expected shape"):
        m.backward(np.zeros((2, 3)), state_grads=[np.ones((2, 4)), np.ones((2, 4))])
    out, states = m(x)
    m.zero_grad()
    m.backward(np.zeros_like(out))
    for name, g in m.gradients():
        assert not g.any(), f"{name}: gradient of a zero loss"


# ------------------------------------------------------ masks
def copy_weights(src, dst):
    dst.load_state_dict(src.state_dict())


MASK_MODELS = {
    "masking_lstm_end": (lambda: [L.Masking(0.0), L.LSTM(3), L.Dense(2)], "seq", True),
    "masking_gru_backwards_start": (lambda: [L.Masking(0.0), L.GRU(3, go_backwards=True), L.Dense(2)], "seq",
                                    False),
    "masking_bidirectional_start": (lambda: [L.Masking(0.0), L.Bidirectional(L.LSTM(2), merge_mode="sum")],
                                    "seq", False),
    "embedding_stack_end": (lambda: [L.Embedding(7, 3, padding_idx=0), L.SimpleRNN(3, return_sequences=True),
                                     L.Bidirectional(L.LSTM(2)), L.Dense(2)], "ids", True),
    "embedding_gru_relu_end": (lambda: [L.Embedding(7, 3, padding_idx=0), L.GRU(3, return_sequences=True),
                                        L.SimpleRNN(2, "relu")], "ids", True),
}


@pytest.mark.parametrize("name", list(MASK_MODELS))
def test_padding_changes_neither_the_last_output_nor_the_gradients(rng, name):
    layers, kind, at_end = MASK_MODELS[name]
    n, steps = 5, 7
    if kind == "ids":
        X, lengths = padded_ids(rng, n, steps, 7, at_end=at_end)
        shape = (steps,)
    else:
        X, lengths = masked_sequences(rng, n, steps, 2, at_end=at_end)
        shape = (steps, 2)
    padded = entrena.Sequential(layers(), input_shape=shape, dtype="float64", seed=9)
    padded.eval()
    out = padded(X)
    g = rng.standard_normal(out.shape)
    padded.zero_grad()
    padded.backward(g)
    want = {k: v.copy() for k, v in padded.gradients()}
    total = {k: np.zeros_like(v) for k, v in want.items()}
    for i, length in enumerate(lengths):
        real = X[i:i + 1, :length] if at_end else X[i:i + 1, steps - length:]
        short = entrena.Sequential(layers(), input_shape=(length,) + shape[1:], dtype="float64", seed=1)
        copy_weights(padded, short)
        short.eval()
        o = short(real)
        np.testing.assert_allclose(out[i:i + 1], o, rtol=1e-12, atol=1e-13, err_msg=f"sample {i}")
        short.zero_grad()
        short.backward(g[i:i + 1])
        for k, v in short.gradients():
            total[k] += v
    for k in want:
        np.testing.assert_allclose(want[k], total[k], rtol=1e-11, atol=1e-13, err_msg=k)
    assert lengths.min() < steps


def per_step_model(rng, dtype="float64"):
    m = entrena.Sequential([L.Embedding(6, 4, padding_idx=0), L.GRU(5, return_sequences=True), L.Dense(3)],
                           input_shape=(6,), dtype=dtype, seed=11)
    m.compile(loss="categorical_crossentropy", optimizer=entrena.SGD(lr=0.1), metrics=["accuracy"])
    return m


def test_per_step_loss_averages_over_real_steps(rng):
    m = per_step_model(rng)
    ids, lengths = padded_ids(rng, 8, 6, 6)
    y = rng.integers(0, 3, (8, 6))
    real = ids != 0
    logits = m.predict(ids)
    logp = logits - np.log(np.exp(logits).sum(axis=2, keepdims=True))
    ce = -np.take_along_axis(logp, y[..., None], axis=2)[..., 0]
    by_hand = ce[real].mean()
    assert abs(by_hand - ce.mean()) > 1e-3, "the padded steps must matter to the plain mean"
    logs = m.evaluate(ids, y)
    np.testing.assert_allclose(logs["loss"], by_hand, rtol=1e-10)
    np.testing.assert_allclose(logs["accuracy"], (logits.argmax(axis=2) == y)[real].mean(), rtol=1e-12)
    # Labels at padded steps do not matter.
    y2 = np.where(real, y, (y + 1) % 3)
    assert m.evaluate(ids, y2) == logs
    # One-hot targets per step, too.
    onehot = np.eye(3)[y]
    np.testing.assert_allclose(m.evaluate(ids, onehot)["loss"], by_hand, rtol=1e-10)
    # The masked mean with Masking and mse on per-step regression.
    r = entrena.Sequential([L.Masking(0.0), L.LSTM(2, return_sequences=True), L.Dense(1)],
                           input_shape=(5, 2), dtype="float64", seed=2)
    r.compile(loss="mse", optimizer="sgd")
    x, _ = masked_sequences(rng, 6, 5, 2)
    t = rng.standard_normal((6, 5, 1))
    pred = r.predict(x)
    keep = (x != 0).any(axis=2)
    np.testing.assert_allclose(r.evaluate(x, t)["loss"], ((pred - t)[keep] ** 2).mean(), rtol=1e-10)


def test_padded_steps_get_no_gradient_in_fit(rng):
    ids, _ = padded_ids(rng, 8, 6, 6)
    y = rng.integers(0, 3, (8, 6))
    real = ids != 0
    results = []
    for labels in (y, np.where(real, y, (y + 2) % 3)):
        m = per_step_model(rng)
        h = m.fit(ids, labels, epochs=2, batch_size=4, shuffle=False, verbose=0)
        results.append((h.history["loss"], m.get_weights()))
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(a, b)
    # With lr = 0 one full batch: the training loss is evaluate's (masked mean).
    m = per_step_model(rng)
    m.compile(loss="categorical_crossentropy", optimizer=entrena.SGD(lr=0.0))
    h = m.fit(ids, y, epochs=1, batch_size=8, verbose=0)
    np.testing.assert_allclose(h.history["loss"][0], m.evaluate(ids, y)["loss"], rtol=1e-12)


def test_output_mask(rng):
    ids, _ = padded_ids(rng, 4, 6, 6)
    m = per_step_model(rng)
    assert m.output_mask is None
    m(ids)
    mask = m.output_mask
    assert mask.shape == (4, 6) and mask.dtype == bool
    np.testing.assert_array_equal(mask, ids != 0)
    m(ids[:2])
    np.testing.assert_array_equal(m.output_mask, ids[:2] != 0)
    # The last output of a sequence is not masked over steps.
    last = entrena.Sequential([L.Embedding(6, 4, padding_idx=0), L.LSTM(3)], input_shape=(6,))
    last(ids)
    assert last.output_mask is None
    # Without padding_idx there is no mask; Masking makes one.
    none = entrena.Sequential([L.Embedding(6, 4), L.GRU(2, return_sequences=True)], input_shape=(6,))
    none(ids)
    assert none.output_mask is None
    x, lengths = masked_sequences(rng, 4, 5, 3)
    x[3, 2] = 0.0                          # a hole
    mk = entrena.Sequential([L.Masking(0.0), L.Bidirectional(L.GRU(2, return_sequences=True)), L.Dense(2)],
                            input_shape=(5, 3))
    mk(x)
    want = (x != 0).any(axis=2)
    assert not want[3, 2]
    np.testing.assert_array_equal(mk.output_mask, want)
    # Ids of more than one axis: no mask over steps.
    grid = entrena.Sequential([L.Embedding(6, 2, padding_idx=0)], input_shape=(3, 4))
    grid(rng.integers(0, 6, (2, 3, 4)))
    assert grid.output_mask is None


def test_masking_layer_forward_and_backward(rng):
    m = entrena.Sequential([L.Masking(-1.0)], input_shape=(5, 3), dtype="float64")
    x = rng.standard_normal((3, 5, 3))
    x[0, 1] = -1.0
    x[2, 4] = -1.0
    x[1, 2, 0] = -1.0                       # one feature only: a real step
    out = m(x)
    keep = ~(x == -1.0).all(axis=2)
    np.testing.assert_array_equal(out, np.where(keep[..., None], x, 0.0))
    np.testing.assert_array_equal(m.output_mask, keep)
    # Masking then a recurrent layer equals the kernel with that mask.
    r = entrena.Sequential([L.Masking(-1.0), L.LSTM(2, return_sequences=True)], input_shape=(5, 3),
                           dtype="float64", seed=3)
    y = r(x)
    want = twin_of("lstm", params_of(r, 1), np.where(keep[..., None], x, 0.0), mask=keep.astype(np.uint8))
    np.testing.assert_allclose(y, want["y"], rtol=1e-12, atol=1e-13)


# ------------------------------------------------------ Embedding
@pytest.mark.parametrize("shape", [(6,), (2, 3)], ids=["steps", "grid"])
@pytest.mark.parametrize("padding_idx", [None, 0, 4])
def test_embedding_forward_and_gradient_match_the_twin(rng, dtype, shape, padding_idx):
    V, D = 5, 3
    m = entrena.Sequential([L.Embedding(V, D, padding_idx=padding_idx)], input_shape=shape, dtype=dtype, seed=4)
    (name, W), = m.named_parameters()
    assert name == "embedding_0.W" and W.shape == (V, D) and W.dtype == dtype
    if padding_idx is not None:
        assert not W[padding_idx].any(), "the padding row starts at zero"
    assert np.abs(W).max() > 0
    ids = rng.integers(0, V, (7,) + shape)
    ids.reshape(-1)[:V] = np.arange(V)           # every id, repeated ids
    out = m(ids)
    np.testing.assert_array_equal(out, ref.embedding_forward(ids, W))
    dy = rng.standard_normal(out.shape).astype(dtype)
    m.zero_grad()
    m.backward(dy)
    (_, dW), = m.gradients()
    want = ref.embedding_backward(ids, dy.astype(np.float64), V, padding_idx)
    assert_same(dW, want, dtype, rtol=1e-5 if dtype == np.float32 else 1e-13, atol=1e-5 if dtype == np.float32
                else 1e-13, what="dW")
    if padding_idx is not None:
        assert not dW[padding_idx].any()
    assert np.abs(dW).max() > 0
    # Ids as floats (whole numbers) are the same ids.
    np.testing.assert_array_equal(m(ids.astype(dtype)), out)


def test_embedding_padding_row_is_never_trained(rng):
    m = entrena.Sequential([L.Embedding(6, 3, padding_idx=2), L.Flatten(), L.Dense(2)], input_shape=(4,),
                           seed=1)
    m.compile(loss="categorical_crossentropy", optimizer=entrena.Adam(lr=0.1))
    ids = rng.integers(0, 6, (32, 4))
    W0 = m.get_weights()[0].copy()
    m.fit(ids, rng.integers(0, 2, 32), epochs=3, batch_size=8, verbose=0)
    W = m.get_weights()[0]
    assert not W[2].any()
    assert not np.allclose(np.delete(W, 2, axis=0), np.delete(W0, 2, axis=0))


@pytest.mark.parametrize("bad,match", [
    (6, r"ids: expected integers in \[0, 6\) \(num_embeddings = 6\), got 6 at position 9"),
    (-1, r"ids: expected integers in \[0, 6\) \(num_embeddings = 6\), got -1 at position 9"),
    (2.5, r"ids: expected integers in \[0, 6\) \(num_embeddings = 6\), got 2.5 at position 9"),
    (1e30, r"ids: expected integers in \[0, 6\)"),
], ids=["too_big", "negative", "not_integer", "huge"])
def test_embedding_bad_ids_name_ids(rng, bad, match):
    m = entrena.Sequential([L.Embedding(6, 3, padding_idx=0), L.GRU(2), L.Dense(2)], input_shape=(5,), seed=1)
    m.compile(loss="categorical_crossentropy", optimizer=entrena.Adam(lr=0.1))
    ids = rng.integers(1, 6, (4, 5)).astype(np.float64)
    ids[1, 4] = bad
    y = np.array([0, 1, 0, 1])
    before = m.get_weights()
    with pytest.raises(ValueError, match=match):
        m.fit(ids, y, epochs=1, batch_size=2, verbose=0)
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=match):
        m.predict(ids)
    with pytest.raises(ValueError, match=match):
        m(ids)
    with pytest.raises(ValueError, match=match):
        m.evaluate(ids, y)
    # The good rows still work.
    m.fit(ids[[0, 2, 3]], y[[0, 2, 3]], epochs=1, verbose=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_embedding_non_finite_ids_are_rejected(rng, bad):
    # NaN and infinity fail the model's check of finite inputs first, which
    # names the input (X in fit and predict, x in a call).
    m = entrena.Sequential([L.Embedding(6, 3), L.GRU(2)], input_shape=(5,), seed=1)
    m.compile(loss="mse", optimizer="sgd")
    ids = rng.integers(0, 6, (4, 5)).astype(np.float64)
    ids[2, 1] = bad
    before = m.get_weights()
    with pytest.raises(ValueError, match=r"(ids|X): expected (integers|finite values)"):
        m.fit(ids, np.zeros((4, 2)), epochs=1, verbose=0)
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"(ids|X): expected (integers|finite values)"):
        m.predict(ids)
    with pytest.raises(ValueError, match=r"(ids|x): expected (integers|finite values)"):
        m(ids)


# ------------------------------------------------------ go_backwards, Bidirectional
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
def test_go_backwards_is_the_twin_reversed(rng, dtype, cell, return_sequences, masked):
    layer = RECURRENT[cell](3, return_sequences=return_sequences, go_backwards=True)
    m = entrena.Sequential(([L.Masking(0.0)] if masked else []) + [layer], input_shape=(STEPS, 2), dtype=dtype,
                           seed=12)
    x, _ = masked_sequences(rng, 5, STEPS, 2)
    x = x.astype(dtype)
    mask = (x != 0).any(axis=2).astype(np.uint8) if masked else None
    P = {k: v.astype(np.float64) for k, v in params_of(m, len(m.layers) - 1).items()}
    want = twin_of(cell, P, x.astype(np.float64), mask=mask, reverse=True)
    forward = twin_of(cell, P, x.astype(np.float64), mask=mask)
    out = m(x)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(out, want["y"] if return_sequences else want["h"], **tol)
    assert not np.allclose(want["h"], forward["h"], rtol=1e-3, atol=1e-3)


def test_bidirectional_copies_the_layer_and_flips_go_backwards(rng):
    b = L.Bidirectional(L.GRU(3, return_sequences=True, go_backwards=True), merge_mode="ave")
    assert b.layer.engine_config() == L.GRU(3, return_sequences=True, go_backwards=True).engine_config()
    m = entrena.Sequential([b], input_shape=(4, 2), dtype="float64", seed=3)
    assert m.output_shape == (4, 3)
    x = rng.standard_normal((2, 4, 2))
    P = params_of(m, 0)
    f = twin_of("gru", P, x, prefix="forward_", reverse=True)
    r = twin_of("gru", P, x, prefix="backward_")
    np.testing.assert_allclose(m(x), (f["y"] + r["y"]) / 2, rtol=1e-12, atol=1e-13)
    names = [n for n, _ in m.named_parameters()]
    assert names == [f"bidirectional_0.{d}_{k}" for d in ("forward", "backward")
                     for k in ("W_ih", "W_hh", "b_ih", "b_hh")]
    assert not np.array_equal(P["forward_W_ih"], P["backward_W_ih"]), "each direction has its own weights"
    concat = entrena.Sequential([L.Bidirectional(L.LSTM(3))], input_shape=(4, 2))
    assert concat.output_shape == (6,)


def test_initial_values_follow_pytorch():
    m = entrena.Sequential([L.LSTM(16, return_sequences=True), L.GRU(9, use_bias=False)], input_shape=(5, 3),
                           seed=0)
    P = dict(m.named_parameters())
    assert [n for n in P] == ["lstm_0.W_ih", "lstm_0.W_hh", "lstm_0.b_ih", "lstm_0.b_hh", "gru_1.W_ih",
                              "gru_1.W_hh"]
    assert P["lstm_0.W_ih"].shape == (3, 64) and P["lstm_0.W_hh"].shape == (16, 64)
    assert P["gru_1.W_ih"].shape == (16, 27) and P["gru_1.W_hh"].shape == (9, 27)
    for name, units in (("lstm_0", 16), ("gru_1", 9)):
        for k in ("W_ih", "W_hh", "b_ih", "b_hh"):
            if f"{name}.{k}" in P:
                v = P[f"{name}.{k}"]
                limit = 1 / np.sqrt(units)
                assert np.abs(v).max() <= limit and np.abs(v).max() > 0.8 * limit, f"{name}.{k}"
    assert m.count_params() == 3 * 64 + 16 * 64 + 128 + 16 * 27 + 9 * 27


# ------------------------------------------------------ dropout
def test_input_dropout_uses_one_mask_per_sequence(rng):
    n, steps, F = 64, 5, 8
    m = entrena.Sequential([L.Dense(F, use_bias=False),
                            L.SimpleRNN(F, return_sequences=True, dropout=0.5, use_bias=False)],
                           input_shape=(steps, F), dtype="float64", seed=13)
    P = dict(m.named_parameters())
    P["dense_0.W"][...] = np.eye(F)
    P["simplernn_1.W_ih"][...] = np.eye(F)
    P["simplernn_1.W_hh"][...] = 0.0
    x = rng.uniform(0.1, 1.0, (n, steps, F)) * rng.choice([-1.0, 1.0], (n, steps, F))
    y = m(x)                                  # training mode: h_t = tanh(2·x_t·mask)
    kept = y[:, 0] != 0
    assert np.array_equal(y != 0, np.broadcast_to(kept[:, None, :], y.shape)), "the same mask at every step"
    np.testing.assert_allclose(y, np.where(kept[:, None, :], np.tanh(2 * x), 0.0), rtol=1e-13, atol=1e-15)
    assert 0.35 < kept.mean() < 0.65
    assert len({row.tobytes() for row in kept}) > 10, "one mask per sequence"
    # Backward through the same mask: dx of the RNN is da·mask·2.
    g = rng.standard_normal(y.shape)
    m.zero_grad()
    m.backward(g)
    grads = dict(m.gradients())
    da = g * (1 - y ** 2)
    xd = np.where(kept[:, None, :], 2 * x, 0.0)
    np.testing.assert_allclose(grads["simplernn_1.W_ih"], np.einsum("btf,btj->fj", xd, da), rtol=1e-11,
                               atol=1e-12)
    np.testing.assert_allclose(grads["simplernn_1.W_hh"], np.einsum("btf,btj->fj", y[:, :-1], da[:, 1:]),
                               rtol=1e-11, atol=1e-12)
    dxd = np.where(kept[:, None, :], 2 * da, 0.0)
    np.testing.assert_allclose(grads["dense_0.W"], np.einsum("btf,btj->fj", x, dxd), rtol=1e-11, atol=1e-12)
    # Another batch draws other masks; the same seed draws the same ones.
    assert not np.array_equal(m(x) != 0, y != 0)
    again = entrena.Sequential([L.Dense(F, use_bias=False),
                                L.SimpleRNN(F, return_sequences=True, dropout=0.5, use_bias=False)],
                               input_shape=(steps, F), dtype="float64", seed=13)
    again.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(again(x), y)
    # Eval mode ignores dropout.
    m.eval()
    np.testing.assert_allclose(m(x), np.tanh(x), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_dropout_is_off_in_eval_mode(rng, cell):
    x = rng.standard_normal((6, 4, 5))
    m = entrena.Sequential([L.Bidirectional(RECURRENT[cell](3, dropout=0.4))], input_shape=(4, 5),
                           dtype="float64", seed=14)
    plain = entrena.Sequential([L.Bidirectional(RECURRENT[cell](3))], input_shape=(4, 5), dtype="float64")
    plain.load_state_dict(m.state_dict())
    train = m(x)
    assert not np.allclose(train, plain(x))
    m.eval()
    np.testing.assert_array_equal(m(x), m(x))
    np.testing.assert_array_equal(m(x), plain(x))
    np.testing.assert_array_equal(m.predict(x), plain.predict(x))


# ------------------------------------------------------ save and load
@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
def test_save_and_load_round_trip(tmp_path, rng, dtype_name):
    ids, _ = padded_ids(rng, 24, 7, 9)
    m = entrena.Sequential([L.Embedding(9, 4, padding_idx=0), L.Masking(0.0),
                            L.Bidirectional(L.LSTM(3, return_sequences=True, go_backwards=True), merge_mode="mul"),
                            L.GRU(4, return_sequences=True, return_state=True),
                            L.SimpleRNN(3, "relu", dropout=0.2), L.Dense(2)],
                           input_shape=(7,), dtype=dtype_name, seed=15)
    m.compile(loss="categorical_crossentropy", optimizer=entrena.Adam(lr=0.01), metrics=["accuracy"])
    m.fit(ids, rng.integers(0, 2, 24), epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "rnn.safetensors"
    m.save(path)
    again = entrena.load(path)
    assert again.dtype == np.dtype(dtype_name)
    assert [layer.engine_config() for layer in again.layers] == [layer.engine_config() for layer in m.layers]
    np.testing.assert_array_equal(again.predict(ids), m.predict(ids))
    assert again.evaluate(ids, np.zeros(24, int)) == m.evaluate(ids, np.zeros(24, int))
    for (n1, a), (n2, b) in zip(m.named_parameters(), again.named_parameters()):
        assert n1 == n2
        np.testing.assert_array_equal(a, b)
    safetensors = pytest.importorskip("safetensors.numpy")
    names = set(safetensors.load_file(str(path)))
    assert {"layers.0.W", "layers.2.forward_W_ih", "layers.2.backward_b_hh", "layers.3.W_hh",
            "layers.4.b_ih", "layers.5.W"} <= names
    # A masked-sequence model on floats, too.
    x, _ = masked_sequences(rng, 6, 5, 2)
    r = entrena.Sequential([L.Masking(0.0), L.Bidirectional(L.GRU(3)), L.Dense(1)], input_shape=(5, 2),
                           dtype=dtype_name, seed=16)
    r.save(tmp_path / "r.safetensors")
    r2 = entrena.load(tmp_path / "r.safetensors")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        np.testing.assert_array_equal(r2.predict(x), r.predict(x))


# ------------------------------------------------------ bad arguments
def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match=r"LSTM: expected sequences of shape \(n, steps, features\), "
                                         r"got per-sample shape \(5,\)"):
        entrena.Sequential([L.LSTM(4)], input_shape=(5,))
    with pytest.raises(ValueError, match=r"GRU: expected sequences of shape \(n, steps, features\), "
                                         r"got per-sample shape \(2, 3, 4\)"):
        entrena.Sequential([L.GRU(4)], input_shape=(2, 3, 4))
    with pytest.raises(ValueError, match=r"SimpleRNN: expected sequences"):
        entrena.Sequential([L.Bidirectional(L.SimpleRNN(4))], input_shape=(5,))
    with pytest.raises(ValueError, match=r"Masking: expected sequences of shape \(n, steps, features\), "
                                         r"got per-sample shape \(5,\)"):
        entrena.Sequential([L.Masking()], input_shape=(5,))
    for cls in (L.LSTM, L.GRU, L.SimpleRNN):
        with pytest.raises(ValueError, match="units: expected an integer >= 1, got 0"):
            cls(0)
    with pytest.raises(ValueError, match=r"dropout: expected a finite number in \[0, 1\), got 1"):
        L.LSTM(3, dropout=1.0)
    with pytest.raises(ValueError, match=r"dropout: expected a finite number in \[0, 1\), got -0.1"):
        L.GRU(3, dropout=-0.1)
    with pytest.raises(ValueError, match="activation: expected one of 'tanh', 'relu'; got 'sigmoid'"):
        L.SimpleRNN(3, activation="sigmoid")
    with pytest.raises(ValueError, match="LSTM: unknown argument 'activation'"):
        L.LSTM(3, activation="relu")
    with pytest.raises(ValueError, match="layer: expected a SimpleRNN, LSTM or GRU layer, got Dense"):
        L.Bidirectional(L.Dense(3))
    with pytest.raises(TypeError, match="layer: expected a SimpleRNN, LSTM or GRU layer, got str"):
        L.Bidirectional("lstm")
    with pytest.raises(ValueError, match="merge_mode: expected one of 'concat', 'sum', 'mul', 'ave'; got 'foo'"):
        L.Bidirectional(L.LSTM(3), merge_mode="foo")
    with pytest.raises(ValueError, match=r"padding_idx: expected None or an integer in \[0, 5\), got 5"):
        L.Embedding(5, 3, padding_idx=5)
    with pytest.raises(ValueError, match="padding_idx: expected an integer >= 0, got -1"):
        L.Embedding(5, 3, padding_idx=-1)
    with pytest.raises(ValueError, match="num_embeddings: expected an integer >= 1, got 0"):
        L.Embedding(0, 3)
    with pytest.raises(ValueError, match="embedding_dim: expected an integer >= 1, got 0"):
        L.Embedding(5, 0)


# ------------------------------------------------------ training
def test_an_lstm_learns_the_adding_problem():
    X, y = entrena.datasets.make_adding_problem(n_samples=1024, steps=10, seed=0)
    Xt, yt = entrena.datasets.make_adding_problem(n_samples=256, steps=10, seed=1)
    m = entrena.Sequential([L.LSTM(16), L.Dense(1)], input_shape=(10, 2), seed=0)
    m.compile(loss="mse", optimizer=entrena.Adam(lr=0.01))
    h = m.fit(X, y, epochs=10, batch_size=32, verbose=0)
    baseline = float(np.mean((yt - y.mean()) ** 2))      # predicting the mean
    assert 0.1 < baseline < 0.25
    assert h.history["loss"][-1] < 0.5 * h.history["loss"][0]
    assert m.evaluate(Xt, yt)["loss"] < 0.3 * baseline


def _last_token_task(rng, n, steps=10):
    """Variable-length sequences of tokens 1..8 padded with 0 at the end; the
    class is whether the last real token is above 4."""
    lengths = rng.integers(2, steps + 1, n)
    ids = np.zeros((n, steps))
    y = np.zeros(n, dtype=int)
    for i, length in enumerate(lengths):
        seq = rng.integers(1, 9, length)
        ids[i, :length] = seq
        y[i] = int(seq[-1] > 4)
    return ids, y


def test_an_embedding_gru_classifier_learns_variable_length_sequences(rng):
    X, y = _last_token_task(rng, 600)
    Xt, yt = _last_token_task(rng, 300)
    m = entrena.Sequential([L.Embedding(9, 8, padding_idx=0), L.GRU(16), L.Dense(2)], input_shape=(10,), seed=0)
    m.compile(loss="categorical_crossentropy", optimizer=entrena.Adam(lr=0.01), metrics=["accuracy"])
    m.fit(X, y, epochs=8, batch_size=32, verbose=0)
    chance = max(yt.mean(), 1 - yt.mean())
    assert chance < 0.6
    assert m.evaluate(Xt, yt)["accuracy"] > 0.9


def test_step_api_loss_leaves_padded_steps_out_as_evaluate_does(rng):
    m = entrena.Sequential([L.Embedding(6, 3, padding_idx=0), L.LSTM(4, return_sequences=True), L.Dense(3)],
                           input_shape=(5,), dtype="float64", seed=0)
    m.compile(loss="categorical_crossentropy", optimizer="adam")
    ids = np.array([[1, 2, 3, 0, 0], [4, 0, 0, 0, 0], [5, 1, 2, 3, 4]])
    y = rng.integers(0, 3, size=(3, 5))
    loss = entrena.losses.CategoricalCrossentropy()
    out = m(ids)
    assert out.mask.tolist() == (ids != 0).tolist()
    value = loss(out, y)
    assert value == pytest.approx(m.evaluate(ids, y)["loss"], rel=1e-12)
    # Labels at padded steps change nothing, and their gradient is zero.
    y2 = np.where(ids == 0, (y + 1) % 3, y)
    assert loss(m(ids), y2) == pytest.approx(value, rel=1e-12)
    grad = loss.gradient(m(ids), y)
    assert not grad[ids == 0].any() and grad[ids != 0].any()
    # The step API's gradients equal those of one fit-like batch: compare
    # with the gradient of the mean over real steps by finite differences of
    # evaluate.
    m.zero_grad()
    loss(m(ids), y)
    loss.backward()
    b = dict(m.named_parameters())["dense_2.b"]
    g = dict(m.gradients())["dense_2.b"].copy()
    eps = 1e-6
    num = np.zeros_like(b)
    for j in range(len(b)):
        b[j] += eps
        up = m.evaluate(ids, y)["loss"]
        b[j] -= 2 * eps
        down = m.evaluate(ids, y)["loss"]
        b[j] += eps
        num[j] = (up - down) / (2 * eps)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)


def test_masked_evaluate_loss_does_not_depend_on_the_batch_size(rng):
    m = entrena.Sequential([L.Embedding(6, 3, padding_idx=0), L.GRU(4, return_sequences=True), L.Dense(3)],
                           input_shape=(7,), dtype="float64", seed=2)
    m.compile(loss="categorical_crossentropy", optimizer="adam")
    ids = rng.integers(1, 6, (9, 7))
    for i, length in enumerate([1, 7, 3, 2, 7, 5, 4, 1, 6]):
        ids[i, length:] = 0
    y = rng.integers(0, 3, size=(9, 7))
    whole = m.evaluate(ids, y, batch_size=9)["loss"]
    for bs in (1, 2, 4):
        assert m.evaluate(ids, y, batch_size=bs)["loss"] == pytest.approx(whole, rel=1e-12)


def test_a_second_backward_after_one_forward_is_an_error(rng):
    # The backward pass uses up the activations the forward pass saved.
    m = entrena.Sequential([L.GRU(4)], input_shape=(5, 3), dtype="float64", seed=1)
    x = rng.standard_normal((2, 5, 3))
    out = m(x)
    m.backward(np.ones_like(out))
    with pytest.raises(RuntimeError, match="GRU: backward already ran for the last forward pass"):
        m.backward(np.ones_like(out))
    bi = entrena.Sequential([L.Bidirectional(L.LSTM(3))], input_shape=(5, 3), dtype="float64", seed=1)
    out = bi(x)
    bi.backward(np.ones_like(out))
    with pytest.raises(RuntimeError, match="backward already ran"):
        bi.backward(np.ones_like(out))
    # A new forward pass allows a backward again, with the same gradients.
    out = bi(x)
    bi.zero_grad()
    bi.backward(np.ones_like(out))
    first = [g.copy() for _, g in bi.gradients()]
    out = bi(x)
    bi.zero_grad()
    bi.backward(np.ones_like(out))
    for a, (_, b) in zip(first, bi.gradients()):
        np.testing.assert_array_equal(a, b)


def test_state_gradients_of_a_failed_backward_do_not_show_as_initial_state_gradients(rng):
    m = entrena.Sequential([L.LSTM(4, return_state=True)], input_shape=(5, 3), dtype="float64", seed=1)
    x = rng.standard_normal((2, 5, 3))
    out, _ = m(x, initial_state=[np.zeros((2, 4)), np.zeros((2, 4))])
    m.backward(np.ones_like(out))
    good = [g.copy() for g in m.initial_state_grad()]
    with pytest.raises(ValueError, match="grad: expected shape"):
        m.backward(np.zeros((2, 3)), state_grads=[np.full((2, 4), 7.0), np.full((2, 4), 7.0)])
    for a, b in zip(good, m.initial_state_grad()):
        np.testing.assert_array_equal(a, b)


def test_an_initial_state_that_fails_for_one_layer_is_kept_by_none(rng):
    m = entrena.Sequential([L.LSTM(3, return_sequences=True), L.GRU(2)], input_shape=(4, 2), dtype="float64",
                           seed=3)
    x = rng.standard_normal((2, 4, 2))
    before = np.array(m(x))
    with pytest.raises(ValueError):
        m(x, initial_state={0: [np.ones((2, 3)), np.ones((2, 3))], 1: [np.ones((2, 5))]})
    np.testing.assert_array_equal(m(x), before)
    with pytest.raises(ValueError, match=r"initial_state: expected arrays of 2 rows \(one per sample of x\) "
                                         r"for layer 1, got 3 rows in array 0"):
        m(x, initial_state={1: [np.ones((3, 2))]})
    np.testing.assert_array_equal(m(x), before)
    plain = entrena.Sequential([L.Dense(2)], input_shape=(3,))
    plain(np.ones((1, 3)))
    with pytest.raises(ValueError, match="initial_state_grad: the model has no recurrent layer"):
        plain.initial_state_grad()


def test_gradcheck_takes_models_that_return_their_state(rng):
    m = entrena.Sequential([L.LSTM(3, return_state=True), L.Dense(2)], input_shape=(4, 2), seed=0)
    m.compile(loss="mse", optimizer="adam")
    report = entrena.gradcheck(m, rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 2)))
    assert max(report.values()) < 1e-4, report


def test_float32_embedding_tables_stop_where_float32_ids_stop_being_exact():
    with pytest.raises(ValueError, match="num_embeddings: at most 16777216 in a float32 model"):
        entrena.Sequential([L.Embedding(2**24 + 1, 1)], input_shape=(2,), dtype="float32")
    L.Embedding(2**24 + 1, 1)   # the layer alone is fine; a float64 model can hold it
