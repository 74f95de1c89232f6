"""Recurrent layers against PyTorch on copied weights: SimpleRNN (tanh and
relu), LSTM and GRU alone, stacked (nn.LSTM / nn.GRU with num_layers=2) and
in Bidirectional (every merge mode): outputs, final states, initial states
and every gradient (parameters, initial states, the input gradient through
the layer before) for a loss that also reads the final states; without
biases, input dropout (train and eval), one step, one sequence, odd sizes on
every kernel variant, batch sizes changing from call to call; masks
(Masking anywhere in a sequence, Embedding's padding_idx) against packed
sequences, go_backwards against reversed sequences; Embedding against
nn.Embedding; saved and loaded models; a few Adam steps of fit against a
torch training loop (epoch losses too); float32 within float32's tolerance.

Weights: entrena's W_ih (F, G·H) and W_hh (H, G·H) are torch's weight_ih_l0
and weight_hh_l0 transposed, the biases the same; a Bidirectional's
forward_* and backward_* tensors are torch's *_l0 and *_l0_reverse."""
import itertools
import json
import struct

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import entrena  # noqa: E402
from entrena import layers as L  # noqa: E402
from helpers import same_on_one_and_two_threads  # noqa: E402

nn = torch.nn
rnn_utils = nn.utils.rnn

CELLS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
LENGTHS = [6, 3, 1, 5, 2]      # post-padded sequences of 6 steps
# The prefix of a layer's tensors: its type in lower case and its index.
TYPE_NAME = {"rnn_tanh": "simplernn", "rnn_relu": "simplernn", "lstm": "lstm", "gru": "gru"}
TOL64 = dict(rtol=1e-10, atol=1e-12)
TOL32 = dict(rtol=2e-5, atol=2e-6)
MERGES = {
    "concat": lambda f, b: torch.cat([f, b], dim=-1),
    "sum": lambda f, b: f + b,
    "mul": lambda f, b: f * b,
    "ave": lambda f, b: (f + b) / 2,
}


def _layer(cell, units, **kwargs):
    if cell.startswith("rnn_"):
        return L.SimpleRNN(units, activation=cell[4:], **kwargs)
    return {"lstm": L.LSTM, "gru": L.GRU}[cell](units, **kwargs)


def _torch_rnn(cell, features, units, dtype, **kwargs):
    if cell.startswith("rnn_"):
        mod = nn.RNN(features, units, nonlinearity=cell[4:], batch_first=True, **kwargs)
    else:
        mod = {"lstm": nn.LSTM, "gru": nn.GRU}[cell](features, units, batch_first=True, **kwargs)
    return mod.to(dtype)


def _copy_rnn(mod, params, prefix, suffix="_l0"):
    """entrena's W_ih (F, G·H), W_hh (H, G·H), b_ih, b_hh -> torch's
    weight_ih{suffix} = W_ihᵀ, weight_hh{suffix} = W_hhᵀ and the biases."""
    with torch.no_grad():
        getattr(mod, f"weight_ih{suffix}").copy_(torch.from_numpy(params[prefix + "W_ih"].T.copy()))
        getattr(mod, f"weight_hh{suffix}").copy_(torch.from_numpy(params[prefix + "W_hh"].T.copy()))
        if mod.bias:
            getattr(mod, f"bias_ih{suffix}").copy_(torch.from_numpy(params[prefix + "b_ih"].copy()))
            getattr(mod, f"bias_hh{suffix}").copy_(torch.from_numpy(params[prefix + "b_hh"].copy()))


def _copy_linear(mod, params, prefix):
    with torch.no_grad():
        mod.weight.copy_(torch.from_numpy(params[prefix + "W"].T.copy()))
        mod.bias.copy_(torch.from_numpy(params[prefix + "b"].copy()))


def _check_rnn_grads(mod, grads, prefix, suffix="_l0", tol=TOL64):
    pairs = [("W_ih", f"weight_ih{suffix}", True), ("W_hh", f"weight_hh{suffix}", True)]
    if mod.bias:
        pairs += [("b_ih", f"bias_ih{suffix}", False), ("b_hh", f"bias_hh{suffix}", False)]
    for name, tname, transposed in pairs:
        t = getattr(mod, tname).grad.numpy()
        np.testing.assert_allclose(grads[prefix + name], t.T if transposed else t, **tol,
                                   err_msg=prefix + name)


def _t(a, requires_grad=False):
    return torch.tensor(np.asarray(a), requires_grad=requires_grad)


def _lengths_mask(lengths, steps):
    return np.arange(steps)[None, :] < np.asarray(lengths)[:, None]


def _post_padded(rng, lengths, steps, features, dtype=np.float64):
    x = rng.standard_normal((len(lengths), steps, features)).astype(dtype)
    x[~_lengths_mask(lengths, steps)] = 0.0
    return x


def _torch_packed(mod, x, lengths, hx=None):
    """Runs mod on the post-padded batch x as packed sequences; returns the
    padded output (zeros past each length) and the final state."""
    packed = rnn_utils.pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    y, state = mod(packed, hx)
    y, _ = rnn_utils.pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])
    return y, state


def _split_state(cell, state):
    """torch's h_n, or (h_n, c_n) -> [h_n, c_n] for the comparisons."""
    return list(state) if cell == "lstm" else [state]


def _reverse_real(a, lengths):
    """Each row's first lengths[i] steps in reverse order (the padding stays)."""
    out = np.array(a, copy=True)
    for i, n in enumerate(lengths):
        out[i, :n] = a[i, :n][::-1]
    return out


# ------------------------------------------------------ one layer
@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "states"])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("cell", CELLS)
def test_layer_matches_torch(rng, cell, return_sequences, with_state):
    n, steps, F, H = 3, 6, 4, 5
    m = entrena.Sequential([_layer(cell, H, return_sequences=return_sequences, return_state=with_state)],
                           input_shape=(steps, F), dtype="float64", seed=3)
    prefix = f"{TYPE_NAME[cell]}_0."
    params = dict(m.named_parameters())
    assert [k[len(prefix):] for k in params] == ["W_ih", "W_hh", "b_ih", "b_hh"]
    G_ = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}[cell]
    assert params[prefix + "W_ih"].shape == (F, G_ * H) and params[prefix + "W_hh"].shape == (H, G_ * H)
    mod = _torch_rnn(cell, F, H, torch.float64)
    _copy_rnn(mod, params, prefix)
    X = rng.standard_normal((n, steps, F))
    n_state = 2 if cell == "lstm" else 1
    tx = _t(X)
    if with_state:
        init = [rng.standard_normal((n, H)) for _ in range(n_state)]
        tinit = [_t(s[None], requires_grad=True) for s in init]
        ty, tstate = mod(tx, tuple(tinit) if cell == "lstm" else tinit[0])
        out, states = m(X, initial_state=init)
        assert len(states) == n_state
    else:
        ty, tstate = mod(tx)
        out = m(X)
    tfinal = _split_state(cell, tstate)
    tout = ty if return_sequences else tfinal[0][-1]
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out, tout.detach().numpy(), **TOL64)
    G = rng.standard_normal(out.shape)
    tloss = (tout * _t(G)).sum()
    if with_state:
        for s, ts in zip(states, tfinal):
            np.testing.assert_allclose(s, ts[0].detach().numpy(), **TOL64)
        Gs = [rng.standard_normal((n, H)) for _ in range(n_state)]
        tloss = tloss + sum((ts[0] * _t(g)).sum() for ts, g in zip(tfinal, Gs))
    m.zero_grad()
    m.backward(G, state_grads=Gs if with_state else None)
    tloss.backward()
    _check_rnn_grads(mod, dict(m.gradients()), prefix)
    if with_state:
        dinit = m.initial_state_grad()
        assert len(dinit) == n_state
        for d, ts in zip(dinit, tinit):
            np.testing.assert_allclose(d, ts.grad[0].numpy(), **TOL64)


def test_states_are_for_one_call_only(rng):
    # initial_state holds for the call it is given to and state_grads for the
    # backward it is given to: the next call starts from zeros again.
    n, steps, F, H = 3, 5, 2, 4
    m = entrena.Sequential([L.LSTM(H, return_sequences=True, return_state=True)],
                           input_shape=(steps, F), dtype="float64", seed=0)
    mod = _torch_rnn("lstm", F, H, torch.float64)
    _copy_rnn(mod, dict(m.named_parameters()), "lstm_0.")
    X = rng.standard_normal((n, steps, F))
    G = rng.standard_normal((n, steps, H))
    m(X, initial_state=[rng.standard_normal((n, H)), rng.standard_normal((n, H))])
    m.backward(G, state_grads=[rng.standard_normal((n, H)), rng.standard_normal((n, H))])
    m.zero_grad()
    out, (h, c) = m(X)
    h0 = torch.zeros((1, n, H), dtype=torch.float64, requires_grad=True)
    c0 = torch.zeros((1, n, H), dtype=torch.float64, requires_grad=True)
    ty, (th, tc) = mod(_t(X), (h0, c0))
    np.testing.assert_allclose(out, ty.detach().numpy(), **TOL64)
    np.testing.assert_allclose(h, th[0].detach().numpy(), **TOL64)
    np.testing.assert_allclose(c, tc[0].detach().numpy(), **TOL64)
    m.backward(G)
    (ty * _t(G)).sum().backward()
    _check_rnn_grads(mod, dict(m.gradients()), "lstm_0.")
    dh0, dc0 = m.initial_state_grad()
    np.testing.assert_allclose(dh0, h0.grad[0].numpy(), **TOL64)
    np.testing.assert_allclose(dc0, c0.grad[0].numpy(), **TOL64)


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
def test_without_bias_and_dropout_in_eval_mode(rng, cell):
    # use_bias=False: no b_ih / b_hh (torch's bias=False); dropout acts in
    # training only, so the eval-mode call is torch's plain layer.
    n, steps, F, H = 4, 5, 3, 6
    m = entrena.Sequential([_layer(cell, H, use_bias=False, dropout=0.4, return_sequences=True)],
                           input_shape=(steps, F), dtype="float64", seed=2)
    prefix = f"{TYPE_NAME[cell]}_0."
    params = dict(m.named_parameters())
    assert sorted(params) == [prefix + "W_hh", prefix + "W_ih"]
    mod = _torch_rnn(cell, F, H, torch.float64, bias=False)
    _copy_rnn(mod, params, prefix)
    X = rng.standard_normal((n, steps, F))
    m.eval()
    out = m(X)
    ty, _ = mod(_t(X))
    np.testing.assert_allclose(out, ty.detach().numpy(), **TOL64)
    G = rng.standard_normal(out.shape)
    m.zero_grad()
    m.backward(G)
    (ty * _t(G)).sum().backward()
    _check_rnn_grads(mod, dict(m.gradients()), prefix)
    np.testing.assert_allclose(m.predict(X, batch_size=3), ty.detach().numpy(), **TOL64)


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
def test_dropout_in_training_is_one_input_mask_per_sequence(rng, cell):
    # In training, dropout zeroes input features with one mask per sequence
    # for all its steps and scales the rest by 1 / (1 - p): each sequence's
    # output is torch's on x·mask / (1 - p) for one of the 2^F masks, and
    # the gradients are torch's on those inputs.
    n, steps, F, H, p = 6, 4, 3, 5, 0.5
    m = entrena.Sequential([_layer(cell, H, dropout=p, return_sequences=True)], input_shape=(steps, F),
                           dtype="float64", seed=21)
    prefix = f"{TYPE_NAME[cell]}_0."
    mod = _torch_rnn(cell, F, H, torch.float64)
    _copy_rnn(mod, dict(m.named_parameters()), prefix)
    X = rng.standard_normal((n, steps, F))
    out = m(X)
    masks = np.array(list(itertools.product([0.0, 1.0], repeat=F)))
    chosen = []
    for i in range(n):
        ys, _ = mod(_t(X[i][None] * masks[:, None, :] / (1 - p)))
        hits = [k for k in range(len(masks)) if np.allclose(ys[k].detach().numpy(), out[i], **TOL64)]
        assert len(hits) == 1, f"sequence {i}: no input mask gives its output"
        chosen.append(masks[hits[0]])
    chosen = np.array(chosen)
    assert 0 < chosen.sum() < chosen.size      # some features were dropped, not all
    ty, _ = mod(_t(X * chosen[:, None, :] / (1 - p)))
    G = rng.standard_normal(out.shape)
    m.zero_grad()
    m.backward(G)
    (ty * _t(G)).sum().backward()
    _check_rnn_grads(mod, dict(m.gradients()), prefix)


@pytest.mark.parametrize("cell", CELLS)
def test_odd_sizes_and_a_larger_batch(rng, isa, cell):
    # Sizes that are no multiple of a SIMD width, and enough sequences for
    # the kernel to split them between threads (the same bits on 1 and 2),
    # on every kernel variant of this CPU.
    n, steps, F, H = 67, 9, 7, 13
    m = entrena.Sequential([_layer(cell, H, return_sequences=True)], input_shape=(steps, F),
                           dtype="float64", seed=8)
    prefix = f"{TYPE_NAME[cell]}_0."
    mod = _torch_rnn(cell, F, H, torch.float64)
    _copy_rnn(mod, dict(m.named_parameters()), prefix)
    X = rng.standard_normal((n, steps, F))
    G = rng.standard_normal((n, steps, H))

    def run():
        out = np.array(m(X))
        m.zero_grad()
        m.backward(G)
        return (out,) + tuple(g.copy() for _, g in m.gradients())

    out, *_ = same_on_one_and_two_threads(run)
    ty, _ = mod(_t(X))
    np.testing.assert_allclose(out, ty.detach().numpy(), **TOL64)
    (ty * _t(G)).sum().backward()
    _check_rnn_grads(mod, dict(m.gradients()), prefix, tol=dict(rtol=1e-10, atol=1e-11))


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm"])
def test_one_step_and_one_sequence(rng, cell):
    F, H = 3, 4
    for n, steps in ((1, 1), (1, 4), (5, 1)):
        m = entrena.Sequential([_layer(cell, H, return_state=True)], input_shape=(steps, F),
                               dtype="float64", seed=1)
        prefix = f"{TYPE_NAME[cell]}_0."
        mod = _torch_rnn(cell, F, H, torch.float64)
        _copy_rnn(mod, dict(m.named_parameters()), prefix)
        X = rng.standard_normal((n, steps, F))
        out, states = m(X)
        _, tstate = mod(_t(X))
        tfinal = _split_state(cell, tstate)
        np.testing.assert_allclose(out, tfinal[0][-1].detach().numpy(), **TOL64)
        for s, ts in zip(states, tfinal):
            np.testing.assert_allclose(s, ts[0].detach().numpy(), **TOL64)
        G = rng.standard_normal(out.shape)
        m.zero_grad()
        m.backward(G)
        (tfinal[0][-1] * _t(G)).sum().backward()
        _check_rnn_grads(mod, dict(m.gradients()), prefix)


# ------------------------------------------------------ stacked layers
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_two_stacked_layers_match_a_two_layer_torch_module(rng, cell):
    # LSTM(return_sequences) -> LSTM -> Dense is torch's nn.LSTM(num_layers=2)
    # then nn.Linear; initial states per layer ({index: [...]}), the final
    # states of both layers, their gradients. The weights go from torch to
    # entrena this time (load_state_dict).
    n, steps, F, H, out_dim = 4, 5, 3, 6, 2
    m = entrena.Sequential([_layer(cell, H, return_sequences=True, return_state=True),
                            _layer(cell, H, return_state=True), L.Dense(out_dim)],
                           input_shape=(steps, F), dtype="float64", seed=4)
    mod = _torch_rnn(cell, F, H, torch.float64, num_layers=2)
    lin = nn.Linear(H, out_dim).double()
    t = TYPE_NAME[cell]
    state = {}
    for k in (0, 1):
        for name, tname in (("W_ih", "weight_ih"), ("W_hh", "weight_hh")):
            state[f"{t}_{k}.{name}"] = getattr(mod, f"{tname}_l{k}").detach().numpy().T
        for name, tname in (("b_ih", "bias_ih"), ("b_hh", "bias_hh")):
            state[f"{t}_{k}.{name}"] = getattr(mod, f"{tname}_l{k}").detach().numpy()
    state["dense_2.W"] = lin.weight.detach().numpy().T
    state["dense_2.b"] = lin.bias.detach().numpy()
    m.load_state_dict(state)
    X = rng.standard_normal((n, steps, F))
    n_state = 2 if cell == "lstm" else 1
    init = [rng.standard_normal((2, n, H)) for _ in range(n_state)]
    tinit = [_t(s, requires_grad=True) for s in init]
    ty, tstate = mod(_t(X), tuple(tinit) if cell == "lstm" else tinit[0])
    tout = lin(ty[:, -1])
    out, states = m(X, initial_state={0: [s[0] for s in init], 1: [s[1] for s in init]})
    np.testing.assert_allclose(out, tout.detach().numpy(), **TOL64)
    tfinal = _split_state(cell, tstate)
    # [h_0, (c_0,) h_1, (c_1)]: layer after layer.
    expected = [ts[k] for k in (0, 1) for ts in tfinal]
    assert len(states) == len(expected)
    for s, ts in zip(states, expected):
        np.testing.assert_allclose(s, ts.detach().numpy(), **TOL64)
    G = rng.standard_normal(out.shape)
    Gs = [rng.standard_normal((n, H)) for _ in expected]
    tloss = (tout * _t(G)).sum() + sum((ts * _t(g)).sum() for ts, g in zip(expected, Gs))
    m.zero_grad()
    m.backward(G, state_grads=Gs)
    tloss.backward()
    grads = dict(m.gradients())
    for k in (0, 1):
        _check_rnn_grads(mod, grads, f"{t}_{k}.", suffix=f"_l{k}")
        for d, ts in zip(m.initial_state_grad(k), tinit):
            np.testing.assert_allclose(d, ts.grad[k].numpy(), **TOL64)
    np.testing.assert_allclose(grads["dense_2.W"], lin.weight.grad.numpy().T, **TOL64)
    np.testing.assert_allclose(grads["dense_2.b"], lin.bias.grad.numpy(), **TOL64)
    # A state for the second layer only: the first starts from zeros.
    for s in init:
        s[0] = 0.0
    ty, _ = mod(_t(X), tuple(_t(s) for s in init) if cell == "lstm" else _t(init[0]))
    out, _ = m(X, initial_state={1: [s[1] for s in init]})
    np.testing.assert_allclose(out, lin(ty[:, -1]).detach().numpy(), **TOL64)


@pytest.mark.parametrize("arch", CELLS + ["bidirectional_gru", "go_backwards_lstm"])
def test_input_gradient_reaches_the_layer_before(rng, arch):
    # A Dense before the recurrent layer: its gradients check the recurrent
    # layer's input gradient (the model's own input gets none).
    n, steps, F, F2, H = 3, 5, 4, 3, 5
    cell = arch.rsplit("_", 1)[1] if arch.startswith(("bidirectional", "go_backwards")) else arch
    if arch.startswith("bidirectional"):
        rec = L.Bidirectional(_layer(cell, H, return_sequences=True), merge_mode="mul")
    else:
        rec = _layer(cell, H, return_sequences=True, go_backwards=arch.startswith("go_backwards"))
    m = entrena.Sequential([L.Dense(F2, activation="tanh"), rec], input_shape=(steps, F), dtype="float64",
                           seed=19)
    params = dict(m.named_parameters())
    params["dense_0.b"][...] = rng.standard_normal(F2)
    lin = nn.Linear(F, F2).double()
    _copy_linear(lin, params, "dense_0.")
    mod = _torch_rnn(cell, F2, H, torch.float64, bidirectional=arch.startswith("bidirectional"))
    if arch.startswith("bidirectional"):
        prefixes = [("bidirectional_1.forward_", "_l0"), ("bidirectional_1.backward_", "_l0_reverse")]
    else:
        prefixes = [(f"{TYPE_NAME[cell]}_1.", "_l0")]
    for prefix, suffix in prefixes:
        _copy_rnn(mod, params, prefix, suffix)
    X = rng.standard_normal((n, steps, F))
    h = torch.tanh(lin(_t(X)))
    if arch.startswith("go_backwards"):
        ty = mod(h.flip(1))[0].flip(1)
    else:
        ty = mod(h)[0]
    if arch.startswith("bidirectional"):
        ty = ty[..., :H] * ty[..., H:]
    out = m(X)
    np.testing.assert_allclose(out, ty.detach().numpy(), **TOL64)
    G = rng.standard_normal(out.shape)
    m.zero_grad()
    m.backward(G)
    (ty * _t(G)).sum().backward()
    grads = dict(m.gradients())
    np.testing.assert_allclose(grads["dense_0.W"], lin.weight.grad.numpy().T, **TOL64)
    np.testing.assert_allclose(grads["dense_0.b"], lin.bias.grad.numpy(), **TOL64)
    for prefix, suffix in prefixes:
        _check_rnn_grads(mod, grads, prefix, suffix)


def test_embedding_bidirectional_lstm_gru_stack_with_masks_matches_torch(rng):
    # The mask goes on through a Bidirectional with return_sequences to the
    # GRU after it; the embedding's gradient checks the Bidirectional's input
    # gradient at real steps (padded ones get none).
    V, D, H, C, steps = 10, 4, 3, 2, 6
    lengths = LENGTHS
    n = len(lengths)
    m = entrena.Sequential([L.Embedding(V, D, padding_idx=0),
                            L.Bidirectional(L.LSTM(H, return_sequences=True)),
                            L.GRU(H), L.Dense(C)], input_shape=(steps,), dtype="float64", seed=20)
    params = dict(m.named_parameters())
    emb = nn.Embedding(V, D, padding_idx=0).double()
    bi = _torch_rnn("lstm", D, H, torch.float64, bidirectional=True)
    gru = _torch_rnn("gru", 2 * H, H, torch.float64)
    lin = nn.Linear(H, C).double()
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(params["embedding_0.W"].copy()))
    _copy_rnn(bi, params, "bidirectional_1.forward_", "_l0")
    _copy_rnn(bi, params, "bidirectional_1.backward_", "_l0_reverse")
    _copy_rnn(gru, params, "gru_2.")
    _copy_linear(lin, params, "dense_3.")
    ids = rng.integers(1, V, size=(n, steps))
    ids[~_lengths_mask(lengths, steps)] = 0
    ty, _ = _torch_packed(bi, emb(torch.from_numpy(ids)), lengths)
    _, th = _torch_packed(gru, ty, lengths)
    tout = lin(th[-1])
    out = m(ids)
    np.testing.assert_allclose(out, tout.detach().numpy(), **TOL64)
    G = rng.standard_normal(out.shape)
    m.zero_grad()
    m.backward(G)
    (tout * _t(G)).sum().backward()
    grads = dict(m.gradients())
    np.testing.assert_allclose(grads["embedding_0.W"], emb.weight.grad.numpy(), **TOL64)
    _check_rnn_grads(bi, grads, "bidirectional_1.forward_", "_l0")
    _check_rnn_grads(bi, grads, "bidirectional_1.backward_", "_l0_reverse")
    _check_rnn_grads(gru, grads, "gru_2.")
    np.testing.assert_allclose(grads["dense_3.W"], lin.weight.grad.numpy().T, **TOL64)


# ------------------------------------------------------ Bidirectional
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("merge_mode", list(MERGES))
@pytest.mark.parametrize("cell", ["rnn_relu", "lstm", "gru"])
def test_bidirectional_matches_torch(rng, cell, merge_mode, return_sequences):
    # The last output merges the forward layer's final state (after the last
    # step) with the backward layer's (after the first step): torch's h_n[0]
    # and h_n[1], not output[:, -1].
    n, steps, F, H = 3, 6, 4, 5
    m = entrena.Sequential([L.Bidirectional(_layer(cell, H, return_sequences=return_sequences,
                                                   return_state=True), merge_mode=merge_mode)],
                           input_shape=(steps, F), dtype="float64", seed=6)
    params = dict(m.named_parameters())
    names = ["W_ih", "W_hh", "b_ih", "b_hh"]
    assert list(params) == ([f"bidirectional_0.forward_{k}" for k in names]
                            + [f"bidirectional_0.backward_{k}" for k in names])
    mod = _torch_rnn(cell, F, H, torch.float64, bidirectional=True)
    _copy_rnn(mod, params, "bidirectional_0.forward_", "_l0")
    _copy_rnn(mod, params, "bidirectional_0.backward_", "_l0_reverse")
    X = rng.standard_normal((n, steps, F))
    n_state = 2 if cell == "lstm" else 1
    init = [rng.standard_normal((2, n, H)) for _ in range(n_state)]   # (directions, n, H)
    tinit = [_t(s, requires_grad=True) for s in init]
    ty, tstate = mod(_t(X), tuple(tinit) if cell == "lstm" else tinit[0])
    tfinal = _split_state(cell, tstate)
    merge = MERGES[merge_mode]
    tout = merge(ty[..., :H], ty[..., H:]) if return_sequences else merge(tfinal[0][0], tfinal[0][1])
    # entrena's states: [h_f, (c_f,) h_b, (c_b)].
    out, states = m(X, initial_state=[s[d] for d in (0, 1) for s in init])
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out, tout.detach().numpy(), **TOL64)
    expected = [ts[d] for d in (0, 1) for ts in tfinal]
    assert len(states) == len(expected) == 2 * n_state
    for s, ts in zip(states, expected):
        np.testing.assert_allclose(s, ts.detach().numpy(), **TOL64)
    G = rng.standard_normal(out.shape)
    Gs = [rng.standard_normal((n, H)) for _ in expected]
    tloss = (tout * _t(G)).sum() + sum((ts * _t(g)).sum() for ts, g in zip(expected, Gs))
    m.zero_grad()
    m.backward(G, state_grads=Gs)
    tloss.backward()
    grads = dict(m.gradients())
    _check_rnn_grads(mod, grads, "bidirectional_0.forward_", "_l0")
    _check_rnn_grads(mod, grads, "bidirectional_0.backward_", "_l0_reverse")
    dinit = m.initial_state_grad()
    expected_d = [ts.grad[d] for d in (0, 1) for ts in tinit]
    assert len(dinit) == len(expected_d)
    for d, td in zip(dinit, expected_d):
        np.testing.assert_allclose(d, td.numpy(), **TOL64)


# ------------------------------------------------------ masks = packed sequences

@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("cell", CELLS)
def test_masking_matches_packed_sequences(rng, cell, return_sequences):
    n, steps, F, H = len(LENGTHS), 6, 3, 4
    m = entrena.Sequential([L.Masking(0.0), _layer(cell, H, return_sequences=return_sequences,
                                                   return_state=True)],
                           input_shape=(steps, F), dtype="float64", seed=7)
    prefix = f"{TYPE_NAME[cell]}_1."
    mod = _torch_rnn(cell, F, H, torch.float64)
    _copy_rnn(mod, dict(m.named_parameters()), prefix)
    X = _post_padded(rng, LENGTHS, steps, F)
    n_state = 2 if cell == "lstm" else 1
    init = [rng.standard_normal((n, H)) for _ in range(n_state)]
    tinit = [_t(s[None], requires_grad=True) for s in init]
    ty, tstate = _torch_packed(mod, _t(X), LENGTHS, tuple(tinit) if cell == "lstm" else tinit[0])
    tfinal = _split_state(cell, tstate)
    tout = ty if return_sequences else tfinal[0][-1]
    out, states = m(X, initial_state=init)
    np.testing.assert_allclose(out, tout.detach().numpy(), **TOL64)
    if return_sequences:
        assert not out[~_lengths_mask(LENGTHS, steps)].any()   # padded steps output zeros
        np.testing.assert_array_equal(m.output_mask, _lengths_mask(LENGTHS, steps))
    for s, ts in zip(states, tfinal):
        np.testing.assert_allclose(s, ts[0].detach().numpy(), **TOL64)
    # The padded steps' part of G reaches nothing, in both.
    G = rng.standard_normal(out.shape)
    Gs = [rng.standard_normal((n, H)) for _ in range(n_state)]
    tloss = (tout * _t(G)).sum() + sum((ts[0] * _t(g)).sum() for ts, g in zip(tfinal, Gs))
    m.zero_grad()
    m.backward(G, state_grads=Gs)
    tloss.backward()
    _check_rnn_grads(mod, dict(m.gradients()), prefix)
    for d, ts in zip(m.initial_state_grad(), tinit):
        np.testing.assert_allclose(d, ts.grad[0].numpy(), **TOL64)
    # predict, in batches of 2, starts from zeros: torch without hx.
    ty0, tstate0 = _torch_packed(mod, _t(X), LENGTHS)
    tout0 = ty0 if return_sequences else _split_state(cell, tstate0)[0][-1]
    np.testing.assert_allclose(m.predict(X, batch_size=2), tout0.detach().numpy(), **TOL64)


def test_a_fully_masked_sequence_keeps_its_initial_state(rng):
    # No step to run: the final state is the initial state, its gradient
    # goes straight back, and the weights get nothing from that sequence.
    n, steps, F, H = 2, 4, 3, 5
    m = entrena.Sequential([L.Masking(0.0), L.LSTM(H, return_state=True)], input_shape=(steps, F),
                           dtype="float64", seed=0)
    X = np.zeros((n, steps, F))
    h0, c0 = rng.standard_normal((n, H)), rng.standard_normal((n, H))
    out, (h, c) = m(X, initial_state=[h0, c0])
    np.testing.assert_array_equal(out, h0)
    np.testing.assert_array_equal(h, h0)
    np.testing.assert_array_equal(c, c0)
    G, Gh, Gc = (rng.standard_normal((n, H)) for _ in range(3))
    m.zero_grad()
    m.backward(G, state_grads=[Gh, Gc])
    dh0, dc0 = m.initial_state_grad()
    np.testing.assert_allclose(dh0, G + Gh, **TOL64)
    np.testing.assert_allclose(dc0, Gc, **TOL64)
    for name, g in m.gradients():
        assert not g.any(), name


@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
def test_bidirectional_with_masks_matches_packed_sequences(rng, cell, return_sequences):
    # The backward layer starts at each sequence's last real step, as torch's
    # reverse direction on packed sequences.
    n, steps, F, H = len(LENGTHS), 6, 3, 4
    m = entrena.Sequential([L.Masking(0.0),
                            L.Bidirectional(_layer(cell, H, return_sequences=return_sequences,
                                                   return_state=True))],
                           input_shape=(steps, F), dtype="float64", seed=9)
    params = dict(m.named_parameters())
    mod = _torch_rnn(cell, F, H, torch.float64, bidirectional=True)
    _copy_rnn(mod, params, "bidirectional_1.forward_", "_l0")
    _copy_rnn(mod, params, "bidirectional_1.backward_", "_l0_reverse")
    X = _post_padded(rng, LENGTHS, steps, F)
    n_state = 2 if cell == "lstm" else 1
    init = [rng.standard_normal((2, n, H)) for _ in range(n_state)]
    tinit = [_t(s, requires_grad=True) for s in init]
    ty, tstate = _torch_packed(mod, _t(X), LENGTHS, tuple(tinit) if cell == "lstm" else tinit[0])
    tfinal = _split_state(cell, tstate)
    tout = ty if return_sequences else torch.cat([tfinal[0][0], tfinal[0][1]], dim=-1)
    out, states = m(X, initial_state=[s[d] for d in (0, 1) for s in init])
    np.testing.assert_allclose(out, tout.detach().numpy(), **TOL64)
    expected = [ts[d] for d in (0, 1) for ts in tfinal]
    for s, ts in zip(states, expected):
        np.testing.assert_allclose(s, ts.detach().numpy(), **TOL64)
    G = rng.standard_normal(out.shape)
    Gs = [rng.standard_normal((n, H)) for _ in expected]
    tloss = (tout * _t(G)).sum() + sum((ts * _t(g)).sum() for ts, g in zip(expected, Gs))
    m.zero_grad()
    m.backward(G, state_grads=Gs)
    tloss.backward()
    grads = dict(m.gradients())
    _check_rnn_grads(mod, grads, "bidirectional_1.forward_", "_l0")
    _check_rnn_grads(mod, grads, "bidirectional_1.backward_", "_l0_reverse")
    for d, td in zip(m.initial_state_grad(), [ts.grad[d] for d in (0, 1) for ts in tinit]):
        np.testing.assert_allclose(d, td.numpy(), **TOL64)


def test_calls_of_changing_batch_sizes(rng):
    # One model called on batches of 5, 2, 9, 1 and 9 sequences (states
    # given or not), a masked Bidirectional LSTM without biases: each call
    # and its gradients are torch's.
    steps, F, H = 5, 3, 4
    m = entrena.Sequential([L.Masking(0.0),
                            L.Bidirectional(L.LSTM(H, return_sequences=True, return_state=True, use_bias=False))],
                           input_shape=(steps, F), dtype="float64", seed=22)
    params = dict(m.named_parameters())
    assert sorted(params) == sorted(f"bidirectional_1.{d}_{k}" for d in ("forward", "backward")
                                    for k in ("W_ih", "W_hh"))
    mod = _torch_rnn("lstm", F, H, torch.float64, bidirectional=True, bias=False)
    _copy_rnn(mod, params, "bidirectional_1.forward_", "_l0")
    _copy_rnn(mod, params, "bidirectional_1.backward_", "_l0_reverse")
    for n, with_state in ((5, True), (2, True), (9, False), (1, True), (9, True)):
        lengths = rng.integers(1, steps + 1, size=n).tolist()
        X = _post_padded(rng, lengths, steps, F)
        init = [_t(rng.standard_normal((2, n, H)), requires_grad=True) for _ in range(2)]
        if with_state:
            ty, (th, tc) = _torch_packed(mod, _t(X), lengths, tuple(init))
            out, states = m(X, initial_state=[s[d].detach().numpy() for d in (0, 1) for s in init])
        else:
            ty, (th, tc) = _torch_packed(mod, _t(X), lengths)
            out, states = m(X)
        np.testing.assert_allclose(out, ty.detach().numpy(), **TOL64)
        expected = [th[0], tc[0], th[1], tc[1]]
        for s_, ts in zip(states, expected):
            np.testing.assert_allclose(s_, ts.detach().numpy(), **TOL64)
        G = rng.standard_normal(out.shape)
        Gs = [rng.standard_normal((n, H)) for _ in expected]
        mod.zero_grad()
        m.zero_grad()
        m.backward(G, state_grads=Gs)
        ((ty * _t(G)).sum() + sum((ts * _t(g)).sum() for ts, g in zip(expected, Gs))).backward()
        grads = dict(m.gradients())
        _check_rnn_grads(mod, grads, "bidirectional_1.forward_", "_l0")
        _check_rnn_grads(mod, grads, "bidirectional_1.backward_", "_l0_reverse")
        if with_state:
            for d, td in zip(m.initial_state_grad(), [s.grad[d] for d in (0, 1) for s in init]):
                np.testing.assert_allclose(d, td.numpy(), **TOL64)


@pytest.mark.parametrize("masked", [False, True], ids=["full", "masked"])
@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
def test_go_backwards_is_torch_on_reversed_sequences(rng, cell, masked):
    # go_backwards runs from each sequence's last real step to its first; the
    # outputs stay at their steps: torch on the reversed real part of every
    # sequence, its outputs reversed back.
    n, steps, F, H = len(LENGTHS), 6, 3, 4
    lengths = LENGTHS if masked else [steps] * n
    front = [L.Masking(0.0)] if masked else []
    m = entrena.Sequential(front + [_layer(cell, H, go_backwards=True, return_sequences=True,
                                           return_state=True)],
                           input_shape=(steps, F), dtype="float64", seed=10)
    prefix = f"{TYPE_NAME[cell]}_{len(front)}."
    mod = _torch_rnn(cell, F, H, torch.float64)
    _copy_rnn(mod, dict(m.named_parameters()), prefix)
    X = _post_padded(rng, lengths, steps, F)
    ty, tstate = _torch_packed(mod, _t(_reverse_real(X, lengths)), lengths)
    tfinal = _split_state(cell, tstate)
    out, states = m(X)
    np.testing.assert_allclose(out, _reverse_real(ty.detach().numpy(), lengths), **TOL64)
    for s, ts in zip(states, tfinal):
        np.testing.assert_allclose(s, ts[0].detach().numpy(), **TOL64)
    G = rng.standard_normal(out.shape)
    m.zero_grad()
    m.backward(G)
    (ty * _t(_reverse_real(G, lengths))).sum().backward()
    _check_rnn_grads(mod, dict(m.gradients()), prefix)


def _compress(x, real):
    """The real steps of each row moved to its front (post-padded with
    zeros), and their counts."""
    out = np.zeros_like(x)
    lengths = real.sum(axis=1)
    for i in range(len(x)):
        out[i, :lengths[i]] = x[i, real[i]]
    return out, lengths.tolist()


def _expand(y, real):
    """The inverse of _compress: row i's first steps back at its real steps, zeros elsewhere."""
    out = np.zeros(real.shape + y.shape[2:], dtype=y.dtype)
    for i in range(len(y)):
        out[i, real[i]] = y[i, :real[i].sum()]
    return out


@pytest.mark.parametrize("bidirectional", [False, True], ids=["one_way", "bidirectional"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_masked_steps_anywhere_are_skipped(rng, cell, bidirectional):
    # Masked steps at the front and in the middle (mask_value -1) keep the
    # state: the same as torch on the sequences without them.
    n, steps, F, H = 4, 7, 3, 4
    real = np.ones((n, steps), dtype=bool)
    real[0, [0, 1]] = False
    real[1, [2, 4, 6]] = False
    real[2, 3] = False
    real[3, [0, 5, 6]] = False
    X = rng.standard_normal((n, steps, F))
    X[~real] = -1.0
    X[1, 0, 0] = -1.0      # one feature at the mask value does not mask the step
    inner = _layer(cell, H, return_sequences=True, return_state=True)
    m = entrena.Sequential([L.Masking(mask_value=-1.0), L.Bidirectional(inner) if bidirectional else inner],
                           input_shape=(steps, F), dtype="float64", seed=17)
    params = dict(m.named_parameters())
    mod = _torch_rnn(cell, F, H, torch.float64, bidirectional=bidirectional)
    if bidirectional:
        _copy_rnn(mod, params, "bidirectional_1.forward_", "_l0")
        _copy_rnn(mod, params, "bidirectional_1.backward_", "_l0_reverse")
    else:
        _copy_rnn(mod, params, f"{cell}_1.")
    out, states = m(X)
    np.testing.assert_array_equal(m.output_mask, real)
    Xc, lengths = _compress(X, real)
    ty, tstate = _torch_packed(mod, _t(Xc), lengths)
    np.testing.assert_allclose(out, _expand(ty.detach().numpy(), real), **TOL64)
    tfinal = _split_state(cell, tstate)
    expected = [ts[d] for d in range(2 if bidirectional else 1) for ts in tfinal]
    assert len(states) == len(expected)
    for s_, ts in zip(states, expected):
        np.testing.assert_allclose(s_, ts.detach().numpy(), **TOL64)
    G = rng.standard_normal(out.shape)
    m.zero_grad()
    m.backward(G)
    Gc, _ = _compress(G, real)
    (ty * _t(Gc)).sum().backward()
    grads = dict(m.gradients())
    if bidirectional:
        _check_rnn_grads(mod, grads, "bidirectional_1.forward_", "_l0")
        _check_rnn_grads(mod, grads, "bidirectional_1.backward_", "_l0_reverse")
    else:
        _check_rnn_grads(mod, grads, f"{cell}_1.")


def test_saved_and_loaded_model_still_matches_torch(rng, tmp_path):
    # Model files name the tensors layers.{k}.forward_W_ih ...; a loaded
    # model gives torch's outputs still.
    n, steps, F, H = 5, 6, 3, 4
    m = entrena.Sequential([L.Masking(0.0), L.Bidirectional(L.GRU(H), merge_mode="ave"), L.Dense(2)],
                           input_shape=(steps, F), dtype="float64", seed=18)
    params = dict(m.named_parameters())
    params["dense_2.b"][...] = [0.5, -0.25]
    mod = _torch_rnn("gru", F, H, torch.float64, bidirectional=True)
    lin = nn.Linear(H, 2).double()
    _copy_rnn(mod, params, "bidirectional_1.forward_", "_l0")
    _copy_rnn(mod, params, "bidirectional_1.backward_", "_l0_reverse")
    _copy_linear(lin, params, "dense_2.")
    path = tmp_path / "gru.safetensors"
    m.save(path)
    with open(path, "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    names = ["W_ih", "W_hh", "b_ih", "b_hh"]
    want = {f"layers.1.{d}_{k}" for d in ("forward", "backward") for k in names} | {"layers.2.W", "layers.2.b"}
    assert want <= set(header)
    assert header["layers.1.forward_W_ih"]["shape"] == [F, 3 * H]
    loaded = entrena.load(path)
    X = _post_padded(rng, LENGTHS, steps, F)
    _, th = _torch_packed(mod, _t(X), LENGTHS)
    tout = lin((th[0] + th[1]) / 2).detach().numpy()
    np.testing.assert_allclose(loaded.predict(X), tout, **TOL64)
    np.testing.assert_allclose(m.predict(X), tout, **TOL64)


# ------------------------------------------------------ Embedding
@pytest.mark.parametrize("padding_idx", [None, 0, 3])
def test_embedding_matches_torch(rng, padding_idx):
    V, D, n, steps = 7, 4, 3, 5
    m = entrena.Sequential([L.Embedding(V, D, padding_idx=padding_idx)], input_shape=(steps,),
                           dtype="float64", seed=11)
    (name, W), = m.named_parameters()
    assert name == "embedding_0.W" and W.shape == (V, D)
    emb = nn.Embedding(V, D, padding_idx=padding_idx).double()
    if padding_idx is not None:
        assert not W[padding_idx].any()         # starts at zero, as torch's
    ids = rng.integers(0, V, size=(n, steps))
    if padding_idx is not None:
        ids[:, -1] = padding_idx
    for nonzero_padding_row in (False, True):
        if nonzero_padding_row and padding_idx is not None:
            W[padding_idx] = rng.standard_normal(D)   # the row is looked up as it is
        with torch.no_grad():
            emb.weight.copy_(torch.from_numpy(W.copy()))
        emb.weight.grad = None
        out = m(ids)
        tout = emb(torch.from_numpy(ids))
        np.testing.assert_allclose(out, tout.detach().numpy(), **TOL64)
        G = rng.standard_normal(out.shape)
        m.zero_grad()
        m.backward(G)
        (tout * _t(G)).sum().backward()
        dW = dict(m.gradients())["embedding_0.W"]
        np.testing.assert_allclose(dW, emb.weight.grad.numpy(), **TOL64)
        if padding_idx is not None:
            assert not dW[padding_idx].any()
            np.testing.assert_array_equal(m.output_mask, ids != padding_idx)
        # float ids holding whole numbers are the same ids
        np.testing.assert_array_equal(m(ids.astype(np.float64)), out)


@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
def test_embedding_padding_lstm_dense_matches_torch_packed(rng, return_sequences):
    # Embedding(padding_idx=0) masks the padded steps: the LSTM skips them as
    # torch's packed sequences do (zeros out, no gradient).
    V, D, H, C, steps = 9, 4, 5, 3, 6
    lengths = LENGTHS
    n = len(lengths)
    m = entrena.Sequential([L.Embedding(V, D, padding_idx=0),
                            L.LSTM(H, return_sequences=return_sequences), L.Dense(C)],
                           input_shape=(steps,), dtype="float64", seed=12)
    params = dict(m.named_parameters())
    params["dense_2.b"][...] = rng.standard_normal(C)
    emb = nn.Embedding(V, D, padding_idx=0).double()
    lstm = _torch_rnn("lstm", D, H, torch.float64)
    lin = nn.Linear(H, C).double()
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(params["embedding_0.W"].copy()))
    _copy_rnn(lstm, params, "lstm_1.")
    _copy_linear(lin, params, "dense_2.")
    ids = rng.integers(1, V, size=(n, steps))
    mask = _lengths_mask(lengths, steps)
    ids[~mask] = 0
    ty, (th, _) = _torch_packed(lstm, emb(torch.from_numpy(ids)), lengths)
    tout = lin(ty) if return_sequences else lin(th[-1])
    out = m(ids)
    np.testing.assert_allclose(out, tout.detach().numpy(), **TOL64)
    if return_sequences:
        # Dense acts on every step: b where the LSTM output zeros; the mask
        # goes on with the output (the losses leave those steps out).
        np.testing.assert_allclose(out[~mask], np.broadcast_to(params["dense_2.b"], out[~mask].shape), **TOL64)
        np.testing.assert_array_equal(m.output_mask, mask)
    else:
        assert m.output_mask is None
    G = rng.standard_normal(out.shape)
    m.zero_grad()
    m.backward(G)
    (tout * _t(G)).sum().backward()
    grads = dict(m.gradients())
    np.testing.assert_allclose(grads["embedding_0.W"], emb.weight.grad.numpy(), **TOL64)
    assert not grads["embedding_0.W"][0].any()
    _check_rnn_grads(lstm, grads, "lstm_1.")
    np.testing.assert_allclose(grads["dense_2.W"], lin.weight.grad.numpy().T, **TOL64)
    np.testing.assert_allclose(grads["dense_2.b"], lin.bias.grad.numpy(), **TOL64)


# ------------------------------------------------------ training with Adam
def _adam_steps(params, loss_fn, X, Y, batch_size, epochs, lr, weight=lambda x, y: len(x)):
    """torch.optim.Adam over the batches fit takes in order (shuffle=False,
    the last batch partial); returns [(loss, weight) per batch] per epoch, the
    weight of a batch being what its loss averages over (its samples, or
    weight(X, Y) of the batch, e.g. its real steps)."""
    opt = torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8)
    losses = []
    for _ in range(epochs):
        batch_losses = []
        for s in range(0, len(X), batch_size):
            opt.zero_grad()
            loss = loss_fn(X[s:s + batch_size], Y[s:s + batch_size])
            loss.backward()
            opt.step()
            batch_losses.append((loss.item(), weight(X[s:s + batch_size], Y[s:s + batch_size])))
        losses.append(batch_losses)
    return losses


def test_adam_defaults_are_torchs():
    opt = entrena.Adam()
    tdefaults = torch.optim.Adam([torch.zeros(1, requires_grad=True)]).defaults
    assert opt.lr == tdefaults["lr"]
    assert tuple(opt.betas) == tuple(tdefaults["betas"])
    assert opt.eps == tdefaults["eps"]
    assert opt.weight_decay == tdefaults["weight_decay"]
    assert opt.amsgrad == tdefaults["amsgrad"]


def _entrena_to_torch_state(params, layout):
    """Copies entrena's tensors into torch's: layout is [(entrena name,
    torch parameter, whether torch's is the transpose)]."""
    with torch.no_grad():
        for name, tp, transposed in layout:
            a = params[name]
            tp.copy_(torch.from_numpy((a.T if transposed else a).copy()))


def _rnn_layout(mod, prefix, suffix="_l0"):
    return [(prefix + "W_ih", getattr(mod, f"weight_ih{suffix}"), True),
            (prefix + "W_hh", getattr(mod, f"weight_hh{suffix}"), True),
            (prefix + "b_ih", getattr(mod, f"bias_ih{suffix}"), False),
            (prefix + "b_hh", getattr(mod, f"bias_hh{suffix}"), False)]


def _check_epoch_losses(hist, tlosses):
    assert len(hist.history["loss"]) == len(tlosses)
    for got, batches in zip(hist.history["loss"], tlosses):
        want = sum(v * k for v, k in batches) / sum(k for _, k in batches)
        np.testing.assert_allclose(got, want, rtol=1e-10)


def _check_trained(model, layout, initial):
    # The steps moved every tensor, the same way in both.
    params = dict(model.named_parameters())
    assert sorted(params) == sorted(name for name, _, _ in layout)
    for name, tp, transposed in layout:
        t = tp.detach().numpy()
        np.testing.assert_allclose(params[name], t.T if transposed else t, rtol=1e-9, atol=1e-11,
                                   err_msg=name)
        assert not np.allclose(params[name], initial[name]), name


def test_fit_lstm_dense_mse_matches_torch_adam(rng):
    n, steps, F, H, out_dim = 10, 5, 3, 6, 2
    lr, batch_size, epochs = 0.02, 4, 2
    m = entrena.Sequential([L.LSTM(H), L.Dense(out_dim)], input_shape=(steps, F), dtype="float64", seed=13)
    lstm = _torch_rnn("lstm", F, H, torch.float64)
    lin = nn.Linear(H, out_dim).double()
    layout = _rnn_layout(lstm, "lstm_0.") + [("dense_1.W", lin.weight, True), ("dense_1.b", lin.bias, False)]
    _entrena_to_torch_state(dict(m.named_parameters()), layout)
    initial = m.state_dict()
    X = rng.standard_normal((n, steps, F))
    Y = rng.standard_normal((n, out_dim))

    def loss_fn(x, y):
        _, (h, _) = lstm(_t(x))
        return nn.functional.mse_loss(lin(h[-1]), _t(y))

    m.compile(loss="mse", optimizer=entrena.Adam(lr=lr))
    hist = m.fit(X, Y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    tlosses = _adam_steps(list(lstm.parameters()) + list(lin.parameters()), loss_fn, X, Y, batch_size, epochs, lr)
    _check_trained(m, layout, initial)
    # The epoch's loss: the batch losses weighted by the batches' sizes.
    _check_epoch_losses(hist, tlosses)


def test_fit_embedding_gru_per_step_crossentropy_matches_torch_adam(rng):
    # Per-step classification on padded id sequences: the masked steps are
    # left out of the loss, as torch's ignore_index leaves them out of the mean.
    V, D, H, C, steps = 8, 4, 5, 3, 6
    lengths = [6, 2, 4, 1, 5, 3, 6]
    n = len(lengths)
    lr, batch_size, epochs = 0.05, 3, 2
    m = entrena.Sequential([L.Embedding(V, D, padding_idx=0), L.GRU(H, return_sequences=True), L.Dense(C)],
                           input_shape=(steps,), dtype="float64", seed=14)
    emb = nn.Embedding(V, D, padding_idx=0).double()
    gru = _torch_rnn("gru", D, H, torch.float64)
    lin = nn.Linear(H, C).double()
    layout = ([("embedding_0.W", emb.weight, False)] + _rnn_layout(gru, "gru_1.")
              + [("dense_2.W", lin.weight, True), ("dense_2.b", lin.bias, False)])
    _entrena_to_torch_state(dict(m.named_parameters()), layout)
    initial = m.state_dict()
    mask = _lengths_mask(lengths, steps)
    ids = rng.integers(1, V, size=(n, steps))
    ids[~mask] = 0
    labels = rng.integers(0, C, size=(n, steps))
    tlabels = np.where(mask, labels, -100)

    def loss_fn(x, y):
        lens = (x != 0).sum(axis=1).tolist()
        ty, _ = _torch_packed(gru, emb(torch.from_numpy(x)), lens)
        logits = lin(ty)
        return nn.functional.cross_entropy(logits.reshape(-1, C), torch.from_numpy(y.reshape(-1)),
                                           ignore_index=-100)

    m.compile(loss="categorical_crossentropy", optimizer=entrena.Adam(lr=lr))
    hist = m.fit(ids, labels, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    tparams = list(emb.parameters()) + list(gru.parameters()) + list(lin.parameters())
    # The epoch's loss is the mean over every real step (each batch weighs
    # by its real steps).
    tlosses = _adam_steps(tparams, loss_fn, ids, tlabels, batch_size, epochs, lr,
                          weight=lambda x, y: int((y != -100).sum()))
    _check_trained(m, layout, initial)
    _check_epoch_losses(hist, tlosses)
    assert not dict(m.named_parameters())["embedding_0.W"][0].any()   # the padding row is never trained


def test_fit_masked_bidirectional_mse_matches_torch_adam(rng):
    # Masking + Bidirectional(LSTM, "sum") + Dense on the last outputs.
    steps, F, H = 5, 2, 4
    lengths = [5, 3, 1, 4, 2, 5]
    n = len(lengths)
    lr, batch_size, epochs = 0.03, 4, 3
    m = entrena.Sequential([L.Masking(0.0), L.Bidirectional(L.LSTM(H), merge_mode="sum"), L.Dense(1)],
                           input_shape=(steps, F), dtype="float64", seed=15)
    lstm = _torch_rnn("lstm", F, H, torch.float64, bidirectional=True)
    lin = nn.Linear(H, 1).double()
    layout = (_rnn_layout(lstm, "bidirectional_1.forward_", "_l0")
              + _rnn_layout(lstm, "bidirectional_1.backward_", "_l0_reverse")
              + [("dense_2.W", lin.weight, True), ("dense_2.b", lin.bias, False)])
    _entrena_to_torch_state(dict(m.named_parameters()), layout)
    initial = m.state_dict()
    X = _post_padded(rng, lengths, steps, F)
    Y = rng.standard_normal((n, 1))

    def loss_fn(x, y):
        lens = (x != 0).any(axis=2).sum(axis=1).tolist()
        _, (h, _) = _torch_packed(lstm, _t(x), lens)
        return nn.functional.mse_loss(lin(h[0] + h[1]), _t(y))

    m.compile(loss="mse", optimizer=entrena.Adam(lr=lr))
    hist = m.fit(X, Y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    tlosses = _adam_steps(list(lstm.parameters()) + list(lin.parameters()), loss_fn, X, Y, batch_size, epochs, lr)
    _check_trained(m, layout, initial)
    _check_epoch_losses(hist, tlosses)


# ------------------------------------------------------ float32
@pytest.mark.parametrize("arch", ["rnn_tanh", "rnn_relu", "lstm", "gru", "bidirectional_lstm_masked"])
@pytest.mark.parametrize("sizes", [(16, 12, 8, 16), (7, 5, 3, 11)], ids=["simd_sizes", "odd_sizes"])
def test_float32_matches_torch(rng, isa, arch, sizes):
    n, steps, F, H = sizes
    dt = np.float32
    lengths = [steps - (i % steps) for i in range(n)]
    if arch == "bidirectional_lstm_masked":
        m = entrena.Sequential([L.Masking(0.0), L.Bidirectional(L.LSTM(H, return_sequences=True))],
                               input_shape=(steps, F), dtype="float32", seed=16)
        mod = _torch_rnn("lstm", F, H, torch.float32, bidirectional=True)
        params = dict(m.named_parameters())
        _copy_rnn(mod, params, "bidirectional_1.forward_", "_l0")
        _copy_rnn(mod, params, "bidirectional_1.backward_", "_l0_reverse")
        X = _post_padded(rng, lengths, steps, F, dt)
        ty, _ = _torch_packed(mod, _t(X), lengths)
    else:
        m = entrena.Sequential([_layer(arch, H, return_sequences=True)], input_shape=(steps, F),
                               dtype="float32", seed=16)
        mod = _torch_rnn(arch, F, H, torch.float32)
        params = dict(m.named_parameters())
        _copy_rnn(mod, params, f"{TYPE_NAME[arch]}_0.")
        X = rng.standard_normal((n, steps, F)).astype(dt)
        ty, _ = mod(_t(X))
    assert all(p.dtype == np.float32 for p in params.values())
    out = m(X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ty.detach().numpy(), **TOL32)
    G = rng.standard_normal(out.shape).astype(dt)
    m.zero_grad()
    m.backward(G)
    (ty * _t(G)).sum().backward()
    grads = dict(m.gradients())
    tol = dict(rtol=1e-4, atol=2e-5)
    if arch == "bidirectional_lstm_masked":
        _check_rnn_grads(mod, grads, "bidirectional_1.forward_", "_l0", tol=tol)
        _check_rnn_grads(mod, grads, "bidirectional_1.backward_", "_l0_reverse", tol=tol)
    else:
        _check_rnn_grads(mod, grads, f"{TYPE_NAME[arch]}_0.", tol=tol)
