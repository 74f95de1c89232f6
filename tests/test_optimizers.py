"""Optimizer steps and gradient clipping: every kernel against the NumPy
reference (each ISA variant, float32 and float64), multi-step trajectories of
the C++ optimizers against the reference classes, thread-count determinism,
the Python API end to end, checkpoints, bad arguments, and (when torch is
installed) trajectories against torch.optim."""
import json
import math

import numpy as np
import pytest

import entrena
from entrena import _core
from entrena import optimizers as opts
from entrena.reference import optimizers as ref

from helpers import assert_same, check_kernel

K = _core.kernels
from helpers import AVAILABLE_ISAS as ISAS
N = 2 * 4096 + 37  # crosses a block boundary and leaves a SIMD remainder






def in_place(fn, n_out):
    """A kernel updating its first n_out array arguments in place, as a
    function returning them (working on copies)."""
    def run(*args, **kwargs):
        args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        fn(*args, **kwargs)
        return tuple(args[:n_out])
    return run


def with_outputs(fn, order):
    """Like in_place, but returns the arguments at the positions in `order`
    (p first, then the state buffers)."""
    def run(*args, **kwargs):
        args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        fn(*args, **kwargs)
        return tuple(args[i] for i in order)
    return run


def _inputs(rng, n=N):
    p = rng.standard_normal(n)
    g = rng.standard_normal(n) * 0.5
    return p, g


# ------------------------------------------------------------------ kernels
SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, weight_decay=0.01),
    dict(lr=0.05, momentum=0.9, first_step=True),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=1e-3),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    dict(lr=0.05, momentum=0.8, nesterov=True, first_step=True),
]


@pytest.mark.parametrize("kw", SGD_CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_sgd_kernel(kw, dtype, isa, rng):
    p, g = _inputs(rng)
    buf = rng.standard_normal(N) * 0.1
    run = with_outputs(K.sgd_step, [0, 2])
    runr = with_outputs(ref.sgd_step, [0, 2])
    got = check_kernel(run, runr, [p, g, buf], dtype, names=["p", "momentum_buffer"], **kw)
    if kw.get("momentum"):
        assert not np.array_equal(got[1], buf.astype(dtype)), "the momentum buffer was not updated"


ADAM_CASES = [
    dict(step=1),
    dict(step=7, lr=1e-2),
    dict(step=3, weight_decay=0.1),
    dict(step=5, amsgrad=True),
    dict(step=2, beta1=0.5, beta2=0.9, eps=1e-6, amsgrad=True, weight_decay=0.05),
]


@pytest.mark.parametrize("decoupled", [False, True], ids=["adam", "adamw"])
@pytest.mark.parametrize("kw", ADAM_CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_adam_kernel(kw, decoupled, dtype, isa, rng):
    p, g = _inputs(rng)
    m = rng.standard_normal(N) * 0.1
    v = rng.uniform(0.05, 1.0, N)
    vmax = v + rng.uniform(0.0, 0.1, N) * (rng.random(N) < 0.5)
    core, reference = (K.adamw_step, ref.adamw_step) if decoupled else (K.adam_step, ref.adam_step)
    if kw.get("amsgrad"):
        args, order = [p, g, m, v, vmax], [0, 2, 3, 4]
    else:
        args, order = [p, g, m, v], [0, 2, 3]
    names = ["p", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
    check_kernel(with_outputs(core, order), with_outputs(reference, order), args, dtype,
                 names=names, **kw)


def test_adamw_differs_from_adam_only_through_decay(rng):
    p, g = _inputs(rng, 64)
    outs = []
    for fn in (K.adam_step, K.adamw_step):
        q, m, v = p.copy(), np.zeros(64), np.zeros(64)
        fn(q, g, m, v, step=1, lr=0.1, weight_decay=0.0)
        outs.append(q)
    np.testing.assert_array_equal(outs[0], outs[1])
    q, m, v = p.copy(), np.zeros(64), np.zeros(64)
    K.adamw_step(q, g, m, v, step=1, lr=0.1, weight_decay=0.5)
    np.testing.assert_allclose(q, outs[0] - 0.1 * 0.5 * p, rtol=1e-12, atol=1e-15)


RMSPROP_CASES = [
    dict(),
    dict(lr=0.05, weight_decay=0.01),
    dict(centered=True),
    dict(momentum=0.9),
    dict(centered=True, momentum=0.5, alpha=0.9, eps=1e-6, weight_decay=1e-3),
]


@pytest.mark.parametrize("kw", RMSPROP_CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults")
def test_rmsprop_kernel(kw, dtype, isa, rng):
    p, g = _inputs(rng)
    s = rng.uniform(0.5, 1.5, N)
    a = rng.standard_normal(N) * 0.1
    b = rng.standard_normal(N) * 0.1
    run = with_outputs(K.rmsprop_step, [0, 2, 3, 4])
    runr = with_outputs(ref.rmsprop_step, [0, 2, 3, 4])
    check_kernel(run, runr, [p, g, s, a, b], dtype,
                 names=["p", "square_avg", "grad_avg", "momentum_buffer"], **kw)


ADAGRAD_CASES = [
    dict(step=1),
    dict(step=5, lr=0.1, lr_decay=0.01),
    dict(step=3, weight_decay=0.1, eps=1e-6),
]


@pytest.mark.parametrize("kw", ADAGRAD_CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_adagrad_kernel(kw, dtype, isa, rng):
    p, g = _inputs(rng)
    s = rng.uniform(0.0, 2.0, N)
    check_kernel(with_outputs(K.adagrad_step, [0, 2]), with_outputs(ref.adagrad_step, [0, 2]),
                 [p, g, s], dtype, names=["p", "sum"], **kw)


# ----------------------------------------------------------------- clipping
def test_grad_norm_kernel(dtype, isa, rng):
    for n in (1, 5, N, 300_000):
        g = rng.standard_normal(n)
        check_kernel(lambda a: np.float64(K.grad_norm(a)), lambda a: np.float64(ref.grad_norm(a)),
                     [g], dtype, rtol=1e-12 if dtype == np.float64 else 1e-6)


def test_clip_grad_norm_scales_when_above(dtype, isa, rng):
    g = rng.standard_normal(N) * 3.0
    got = check_kernel(lambda a: in_place(K.clip_grad_norm, 1)(a, 1.5), lambda a: in_place(ref.clip_grad_norm, 1)(a, 1.5),
                       [g], dtype, names=["g"])
    assert float(np.linalg.norm(got[0].astype(np.float64))) == pytest.approx(1.5, rel=1e-5)
    a = g.astype(dtype)
    norm = K.clip_grad_norm(a, 1.5)
    assert norm == pytest.approx(np.linalg.norm(g.astype(dtype).astype(np.float64)), rel=1e-6)


def test_clip_grad_norm_noop_below_max_and_zero_gradient(dtype, isa, rng):
    g = (rng.standard_normal(N) * 1e-3).astype(dtype)
    a = g.copy()
    norm = K.clip_grad_norm(a, 10.0)
    np.testing.assert_array_equal(a, g)
    assert norm == pytest.approx(ref.grad_norm(g), rel=1e-6)
    z = np.zeros(N, dtype)
    assert K.clip_grad_norm(z, 1.0) == 0.0
    np.testing.assert_array_equal(z, 0)
    assert K.grad_norm(z) == 0.0


def test_clip_grad_value_kernel(dtype, isa, rng):
    g = rng.standard_normal(N) * 2.0
    got = check_kernel(lambda a: in_place(K.clip_grad_value, 1)(a, 0.7),
                       lambda a: in_place(ref.clip_grad_value, 1)(a, 0.7), [g], dtype, names=["g"])
    assert got[0].max() == pytest.approx(0.7) and got[0].min() == pytest.approx(-0.7)
    inside = np.abs(g.astype(dtype)) < 0.7
    np.testing.assert_array_equal(got[0][inside], g.astype(dtype)[inside])
    z = np.zeros(7, dtype)
    K.clip_grad_value(z, 0.5)
    np.testing.assert_array_equal(z, 0)


@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["float32", "float64"])
def test_norm_and_updates_identical_for_any_thread_count(dt, threads, rng):
    n = 1_500_001  # large enough for the kernels to run on two threads
    g = (rng.standard_normal(n) * 0.01).astype(dt)
    p0 = rng.standard_normal(n).astype(dt)
    results = []
    for nt in (1, 2):
        entrena.set_num_threads(nt)
        a = g.copy()
        norm = K.grad_norm(a)
        clipped_norm = K.clip_grad_norm(a, 0.5)
        p, m, v = p0.copy(), np.zeros(n, dt), np.zeros(n, dt)
        K.adam_step(p, a, m, v, step=1, lr=1e-2, weight_decay=0.01)
        results.append((norm, clipped_norm, a, p, v))
    (n1, c1, a1, p1, v1), (n2, c2, a2, p2, v2) = results
    assert n1 == n2 and c1 == c2
    assert n1 > 0.5  # the clip did something
    for x, y in ((a1, a2), (p1, p2), (v1, v2)):
        assert np.array_equal(x, y)


# ------------------------------------------------------ optimizer classes
# (C++ class name, constructor kwargs, reference class) for the trajectories.
TRAJECTORIES = [
    ("SGD", dict(lr=0.05), ref.SGD),
    ("SGD", dict(lr=0.02, momentum=0.9, dampening=0.1, weight_decay=1e-2), ref.SGD),
    ("SGD", dict(lr=0.02, momentum=0.9, nesterov=True, clip_norm=2.0), ref.SGD),
    ("Adam", dict(lr=1e-2), ref.Adam),
    ("Adam", dict(lr=1e-2, betas=(0.8, 0.99), weight_decay=1e-2, amsgrad=True), ref.Adam),
    ("AdamW", dict(lr=1e-2, clip_value=0.8), ref.AdamW),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1, amsgrad=True, eps=1e-6), ref.AdamW),
    ("RMSprop", dict(lr=1e-3), ref.RMSprop),
    ("RMSprop", dict(lr=1e-3, centered=True, momentum=0.9, weight_decay=1e-3), ref.RMSprop),
    ("RMSprop", dict(lr=1e-3, momentum=0.5, alpha=0.9, clip_norm=1.0, clip_value=0.3), ref.RMSprop),
    ("Adagrad", dict(lr=0.1), ref.Adagrad),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=1e-2, initial_accumulator_value=0.1), ref.Adagrad),
]


def make_core(name, kw, dtype):
    """The engine optimizer `name` (the Python class name, e.g. "AdamW") with
    PyTorch's keyword arguments, made by the engine's factory."""
    mod = _core.f64 if np.dtype(dtype) == np.float64 else _core.f32
    return mod.make_optimizer(name.lower(), json.dumps(kw))


def gradient(p, t, target, noise):
    """A changing gradient: a quadratic bowl pulled around by per-step noise."""
    return (p - target) * (1.0 + 0.5 * math.sin(t)) + noise[t]


@pytest.mark.parametrize("name,kw,reference", TRAJECTORIES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(TRAJECTORIES)])
def test_trajectory_matches_reference(name, kw, reference, isa):
    rng = np.random.default_rng(7)
    n, steps = 301, 60
    target = rng.standard_normal(n)
    noise = rng.standard_normal((steps, n)) * 0.3
    p_ref = rng.standard_normal(n)
    p = p_ref.copy()
    core = make_core(name, kw, np.float64)
    r = reference(**kw)
    for t in range(steps):
        g = gradient(p, t, target, noise)
        core.step_arrays(p, g)
        gr = gradient(p_ref, t, target, noise)
        r.step(p_ref, gr)
    assert core.steps == steps
    scale = np.abs(p_ref).max()
    np.testing.assert_allclose(p, p_ref, rtol=1e-12, atol=1e-12 * scale)
    state = core.state()
    assert sorted(state) == sorted(r.state)
    for k, v in state.items():
        np.testing.assert_allclose(v, r.state[k], rtol=1e-12, atol=1e-12 * np.abs(r.state[k]).max(),
                                   err_msg=k)
    assert not np.allclose(p, rng.standard_normal(n))  # sanity: the run moved


@pytest.mark.parametrize("name,kw,reference", TRAJECTORIES[::2],
                         ids=[f"{n}-{2 * i}" for i, (n, _, _) in enumerate(TRAJECTORIES[::2])])
def test_trajectory_float32_stays_close(name, kw, reference):
    rng = np.random.default_rng(3)
    n, steps = 257, 50
    target = rng.standard_normal(n)
    noise = rng.standard_normal((steps, n)) * 0.3
    p_ref = rng.standard_normal(n)
    p = p_ref.astype(np.float32)
    core = make_core(name, kw, np.float32)
    r = reference(**kw)
    for t in range(steps):
        core.step_arrays(p, gradient(p.astype(np.float64), t, target, noise).astype(np.float32))
        r.step(p_ref, gradient(p_ref, t, target, noise))
    assert_same(p, p_ref, np.float32, rtol=2e-4, atol=2e-4)


def test_state_allocated_once_and_named_like_pytorch():
    core = make_core("Adam", dict(lr=0.1, amsgrad=True), np.float64)
    assert core.state() == {} and core.state_size == 0
    p, g = np.ones(10), np.full(10, 0.5)
    core.step_arrays(p, g)
    s = core.state()
    assert sorted(s) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
    ptr = s["exp_avg"].__array_interface__["data"][0]
    for _ in range(3):
        core.step_arrays(p, g)
    assert core.state()["exp_avg"].__array_interface__["data"][0] == ptr
    with pytest.raises(ValueError, match="expected 10 parameters"):
        core.step_arrays(np.ones(11), np.ones(11))
    # The views are writable and alias the state.
    s["exp_avg"][...] = 0.0
    assert not core.state()["exp_avg"].any()
    names = {
        "SGD": (dict(momentum=0.9), ["momentum_buffer"]),
        "RMSprop": (dict(centered=True, momentum=0.1), ["grad_avg", "momentum_buffer", "square_avg"]),
        "Adagrad": (dict(initial_accumulator_value=0.25), ["sum"]),
    }
    for cls, (kw, want) in names.items():
        c = make_core(cls, kw, np.float32)
        c.init_state(4)
        assert sorted(c.state()) == want
    c = make_core("Adagrad", dict(initial_accumulator_value=0.25), np.float32)
    c.init_state(4)
    np.testing.assert_array_equal(c.state()["sum"], 0.25)
    assert make_core("SGD", {}, np.float32).state() == {} and make_core("AdamW", {}, np.float64).name == "adamw"


def test_clipping_inside_the_optimizer_modifies_the_gradient(rng):
    core = make_core("SGD", dict(lr=1.0), np.float64)
    core.clip_norm = 1.0
    p, g = np.zeros(50), rng.standard_normal(50) * 10
    norm = np.linalg.norm(g)
    core.step_arrays(p, g)
    assert core.last_grad_norm == pytest.approx(norm, rel=1e-12)
    np.testing.assert_allclose(np.linalg.norm(g), 1.0, rtol=1e-5)
    np.testing.assert_allclose(p, -g, rtol=1e-15)


# ------------------------------------------------------------ Python API
def tiny_problem(seed=0, n=240):
    rng = np.random.default_rng(seed)
    centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    y = rng.integers(0, 3, n)
    X = centers[y] + rng.standard_normal((n, 2)) * 0.5
    return X.astype(np.float32), y


def tiny_model(seed=0, dtype="float32"):
    return entrena.Sequential([entrena.Dense(8, activation="relu"), entrena.Dense(3)], seed=seed,
                              dtype=dtype)


@pytest.mark.parametrize("opt", [
    lambda: entrena.Adam(lr=1e-2),
    lambda: entrena.AdamW(lr=1e-2, amsgrad=True),
    lambda: entrena.RMSprop(lr=1e-2, centered=True),
    lambda: entrena.Adagrad(lr=0.1),
    lambda: entrena.SGD(lr=0.05, momentum=0.9, nesterov=True, clip_norm=5.0),
    lambda: "momentum",
    lambda: "adam",
], ids=["adam", "adamw", "rmsprop", "adagrad", "sgd-nesterov", "momentum", "adam-name"])
def test_fit_reduces_loss(opt):
    X, y = tiny_problem()
    model = tiny_model()
    model.compile(loss="categorical_crossentropy", optimizer=opt())
    h = model.fit(X, y, epochs=15, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < 0.5 * h.history["loss"][0]
    assert model.optimizer.iterations == 15 * 15


def test_step_api_matches_reference_update(rng):
    X, y = tiny_problem()
    model = tiny_model(dtype="float64")
    model.build(2)
    loss_fn = entrena.losses.get("categorical_crossentropy")
    opt = entrena.Adam(model.parameters(), lr=1e-2, weight_decay=1e-3)
    r = ref.Adam(lr=1e-2, weight_decay=1e-3)
    flat = model._core.params
    for _ in range(3):
        before = flat.copy()
        out = model(X[:32])
        loss_fn(out, y[:32])
        model.zero_grad()
        loss_fn.backward()
        grads = model._core.grads.copy()
        opt.step()
        r.step(before, grads)
        np.testing.assert_allclose(flat, before, rtol=1e-12, atol=1e-15)
    assert opt.iterations == 3
    assert opt.state_dict()["state"]["exp_avg"].shape == (model.count_params(),)


def test_step_api_loss_drops():
    X, y = tiny_problem()
    model = tiny_model()
    model.build(2)
    loss_fn = entrena.losses.get("categorical_crossentropy")
    opt = entrena.Adam(model.parameters(), lr=2e-2)
    losses = []
    for _ in range(40):
        out = model(X)
        losses.append(loss_fn(out, y))
        model.zero_grad()
        loss_fn.backward()
        opt.step()
    assert losses[-1] < 0.5 * losses[0]


def _steps(model, opt, loss_fn, X, y, k):
    for i in range(k):
        sl = slice(16 * i, 16 * i + 16)
        out = model(X[sl])
        loss_fn(out, y[sl])
        model.zero_grad()
        loss_fn.backward()
        opt.step()


@pytest.mark.parametrize("make", [
    lambda params: entrena.Adam(params, lr=1e-2, amsgrad=True),
    lambda params: entrena.SGD(params, lr=0.05, momentum=0.9, dampening=0.2),
    lambda params: entrena.RMSprop(params, lr=1e-2, centered=True, momentum=0.5),
    lambda params: entrena.Adagrad(params, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
], ids=["adam", "sgd", "rmsprop", "adagrad"])
def test_state_dict_restores_exactly(make):
    X, y = tiny_problem()
    loss_fn = entrena.losses.get("categorical_crossentropy")
    model = tiny_model()
    model.build(2)
    opt = make(model.parameters())
    _steps(model, opt, loss_fn, X, y, 4)
    saved_params = model._core.params.copy()
    saved = opt.state_dict()
    assert saved["steps"] == 4 and saved["name"] == opt.name
    _steps(model, opt, loss_fn, X[64:], y[64:], 5)
    want = model._core.params.copy()

    model._core.params[...] = saved_params
    fresh = make(model.parameters())
    fresh.lr = 123.0  # overwritten by the checkpoint
    fresh.load_state_dict(saved)
    assert fresh.lr == opt.lr and fresh.iterations == 4
    _steps(model, fresh, loss_fn, X[64:], y[64:], 5)
    np.testing.assert_array_equal(model._core.params, want)
    # Saved arrays are copies, not views of the live state.
    assert saved["steps"] == 4
    again = fresh.state_dict()
    assert again["steps"] == 9
    for k in again["state"]:
        assert not np.array_equal(again["state"][k], saved["state"][k])


def test_load_state_dict_into_an_optimizer_in_use_replaces_hyperparameters():
    X, y = tiny_problem()
    model = tiny_model()
    model.compile(optimizer=entrena.Adam(lr=1e-2))
    model.fit(X, y, epochs=1, batch_size=32, verbose=0)
    sd = model.optimizer.state_dict()
    other = entrena.Adam(lr=0.5, weight_decay=0.1)
    other.load_state_dict(sd)
    assert other.get_config() == sd["config"] and other.iterations == sd["steps"]
    model.optimizer.load_state_dict(sd)  # live core: rebuilt for the same dtype
    model.fit(X, y, epochs=1, batch_size=32, verbose=0)
    assert model.optimizer.iterations == 2 * sd["steps"]


def test_load_state_dict_bad_input():
    opt = entrena.Adam(lr=1e-2)
    good = {"name": "adam", "config": opt.get_config(), "steps": 3,
            "state": {"exp_avg": np.zeros(5), "exp_avg_sq": np.zeros(5)}}
    opt.load_state_dict(good)
    with pytest.raises(TypeError, match="state_dict"):
        opt.load_state_dict([1, 2])
    with pytest.raises(ValueError, match="missing steps"):
        opt.load_state_dict({k: v for k, v in good.items() if k != "steps"})
    with pytest.raises(ValueError, match="'adam' optimizer, got 'sgd'"):
        opt.load_state_dict(dict(good, name="sgd"))
    with pytest.raises(ValueError, match=r"buffers \['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'\]"):
        opt.load_state_dict(dict(good, config=dict(good["config"], amsgrad=True)))
    with pytest.raises(ValueError, match="expected 5 elements"):
        opt.load_state_dict(dict(good, state={"exp_avg": np.zeros(5), "exp_avg_sq": np.zeros(4)}))
    with pytest.raises(ValueError, match="steps"):
        opt.load_state_dict(dict(good, steps=-1))
    with pytest.raises(TypeError, match="config"):
        opt.load_state_dict(dict(good, config=dict(good["config"], momentum=0.9)))
    with pytest.raises(ValueError, match="betas"):
        opt.load_state_dict(dict(good, config=dict(good["config"], betas=(1.5, 0.9))))
    # A state sized for 5 parameters cannot drive a model with another count.
    model = tiny_model()
    model.build(2)
    bound = entrena.Adam(model.parameters(), lr=1e-2)
    bound.load_state_dict(good)
    X, y = tiny_problem()
    loss_fn = entrena.losses.get("categorical_crossentropy")
    with pytest.raises(ValueError, match="expected 5 parameters"):
        _steps(model, bound, loss_fn, X, y, 1)


def test_python_optimizers_keep_the_base_contract():
    for cls, defaults in [
        (entrena.SGD, dict(lr=0.01, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False)),
        (entrena.Adam, dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False)),
        (entrena.AdamW, dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False)),
        (entrena.RMSprop, dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False)),
        (entrena.Adagrad, dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                               eps=1e-10)),
    ]:
        o = cls()
        assert o.get_config() == dict(defaults, clip_norm=None, clip_value=None)
        assert cls(0.5).lr == 0.5 and cls(lr=0.25).lr == 0.25
        c = o.core("float64")
        assert c.name == o.name and c.lr == defaults["lr"]
        o.lr = 0.125
        assert c.lr == 0.125 and o.lr == 0.125
        with pytest.raises(TypeError, match="already serves a float64"):
            o.core("float32")
        assert repr(o).startswith(cls.__name__ + "(")
    for key, cls in [("sgd", entrena.SGD), ("adam", entrena.Adam), ("adamw", entrena.AdamW),
                     ("rmsprop", entrena.RMSprop), ("adagrad", entrena.Adagrad)]:
        assert type(opts.get(key)) is cls and type(opts.get(key.upper())) is cls
    assert opts.get("momentum").momentum == 0.9
    o = entrena.SGD(clip_norm=1.0, clip_value=0.5)
    c = o.core("float32")
    assert (c.clip_norm, c.clip_value) == (1.0, 0.5)
    o.clip_norm = None
    assert c.clip_norm == 0.0 and o.get_config()["clip_norm"] is None


BAD_ARGS = [
    (entrena.SGD, dict(lr=-1.0), ValueError, "lr"),
    (entrena.SGD, dict(lr="0.1"), TypeError, "lr"),
    (entrena.SGD, dict(momentum=-0.1), ValueError, "momentum"),
    (entrena.SGD, dict(dampening=1.5), ValueError, "dampening"),
    (entrena.SGD, dict(weight_decay=-1e-3), ValueError, "weight_decay"),
    (entrena.SGD, dict(nesterov=True), ValueError, "nesterov.*momentum > 0"),
    (entrena.SGD, dict(momentum=0.9, dampening=0.1, nesterov=True), ValueError, "dampening = 0"),
    (entrena.SGD, dict(nesterov="yes"), TypeError, "nesterov"),
    (entrena.Adam, dict(betas=(1.0, 0.999)), ValueError, r"betas\[0\]: expected a finite number in \[0, 1\)"),
    (entrena.Adam, dict(betas=(0.9, -0.1)), ValueError, r"betas\[1\]: expected a finite number in \[0, 1\)"),
    (entrena.Adam, dict(betas=0.9), TypeError, "betas"),
    (entrena.Adam, dict(betas=(0.9,)), TypeError, "betas"),
    (entrena.Adam, dict(eps=0.0), ValueError, "eps.*> 0"),
    (entrena.Adam, dict(weight_decay=-1.0), ValueError, "weight_decay"),
    (entrena.Adam, dict(amsgrad=1), TypeError, "amsgrad"),
    (entrena.AdamW, dict(weight_decay=float("nan")), ValueError, "weight_decay"),
    (entrena.AdamW, dict(lr=float("inf")), ValueError, "lr"),
    (entrena.RMSprop, dict(alpha=1.5), ValueError, "alpha"),
    (entrena.RMSprop, dict(momentum=-1.0), ValueError, "momentum"),
    (entrena.RMSprop, dict(eps=-1e-8), ValueError, "eps"),
    (entrena.RMSprop, dict(centered=None), TypeError, "centered"),
    (entrena.Adagrad, dict(lr_decay=-1.0), ValueError, "lr_decay"),
    (entrena.Adagrad, dict(initial_accumulator_value=-0.1), ValueError, "initial_accumulator_value"),
    (entrena.Adagrad, dict(eps=0.0), ValueError, "eps"),
    (entrena.Adam, dict(clip_norm=0.0), ValueError, "clip_norm"),
    (entrena.Adam, dict(clip_norm=-1.0), ValueError, "clip_norm"),
    (entrena.SGD, dict(clip_value="a"), TypeError, "clip_value"),
    (entrena.SGD, dict(clip_value=0.0), ValueError, "clip_value"),
    (entrena.SGD, dict(params=[np.zeros(3)]), TypeError, "params"),
]


@pytest.mark.parametrize("cls,kw,exc,match", BAD_ARGS,
                         ids=[f"{c.__name__}-{next(iter(k))}-{i}" for i, (c, k, _, _) in enumerate(BAD_ARGS)])
def test_bad_arguments(cls, kw, exc, match):
    with pytest.raises(exc, match=match):
        cls(**kw)


def test_bad_arguments_registry_and_core():
    with pytest.raises(ValueError, match="expected one of"):
        opts.get("adamax")
    with pytest.raises(TypeError, match="optimizer"):
        opts.get(3)
    with pytest.raises(RuntimeError, match="no model"):
        entrena.Adam().step()
    # The engine checks every argument (for C++ users and direct core use).
    for make, exc, match in [(lambda: make_core("Adam", dict(betas=(1.0, 0.5)), np.float32), ValueError,
                              r"betas\[0\]: expected a finite number in \[0, 1\)"),
                             (lambda: make_core("Adam", dict(betas=(0.9,)), np.float64), TypeError, "betas"),
                             (lambda: make_core("SGD", dict(nesterov=True), np.float64), ValueError, "nesterov"),
                             (lambda: make_core("RMSprop", dict(alpha=-0.5), np.float64), ValueError, "alpha"),
                             (lambda: make_core("Adagrad", dict(eps=0.0), np.float64), ValueError, "eps"),
                             (lambda: make_core("AdamW", dict(lr=-1.0), np.float64), ValueError, "lr"),
                             (lambda: make_core("SGD", dict(momentun=0.9), np.float64), ValueError,
                              "sgd: unknown argument 'momentun'")]:
        with pytest.raises(exc, match=match):
            make()
    c = make_core("Adam", {}, np.float64)
    with pytest.raises(ValueError, match="steps"):
        c.steps = -1
    with pytest.raises(ValueError, match="clip_norm"):
        c.clip_norm = -1.0
    with pytest.raises(ValueError, match="grads: expected shape"):
        c.step_arrays(np.ones(3), np.ones(4))
    p = np.ones(4, np.float32)
    with pytest.raises(ValueError, match="momentum_buffer: expected an array when momentum"):
        K.sgd_step(p, p.copy(), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="grad: expected shape"):
        K.sgd_step(p, np.ones(5, np.float32), lr=0.1)
    with pytest.raises(TypeError):
        K.sgd_step(p, np.ones(4, np.float64), lr=0.1)
    with pytest.raises(ValueError, match="step must be >= 1"):
        K.adam_step(p, p.copy(), p.copy(), p.copy(), step=0)
    with pytest.raises(ValueError, match="max_exp_avg_sq"):
        K.adam_step(p, p.copy(), p.copy(), p.copy(), step=1, amsgrad=True)
    with pytest.raises(ValueError, match="grad_avg"):
        K.rmsprop_step(p, p.copy(), p.copy(), centered=True)
    with pytest.raises(ValueError, match="max_norm"):
        K.clip_grad_norm(p, -1.0)


# ----------------------------------------------------------------- torch
TORCH_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=1e-2)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=1e-2, weight_decay=1e-2, amsgrad=True)),
    ("Adam", dict(lr=1e-2, betas=(0.8, 0.95))),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1)),
    ("AdamW", dict(lr=1e-2, amsgrad=True)),
    ("RMSprop", dict(lr=1e-2, centered=True, momentum=0.9, weight_decay=1e-3)),
    ("RMSprop", dict(lr=1e-2, alpha=0.9)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=1e-2, initial_accumulator_value=0.1)),
]


@pytest.mark.parametrize("clip", [None, "norm", "value"])
@pytest.mark.parametrize("name,kw", TORCH_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(TORCH_CASES)])
def test_trajectory_matches_torch(name, kw, clip):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    n, steps = 97, 20
    target = rng.standard_normal(n)
    noise = rng.standard_normal((steps, n)) * 0.3
    p0 = rng.standard_normal(n) * 2.0
    for dt, rtol in ((np.float64, 1e-10), (np.float32, 2e-4)):
        tdt = torch.float64 if dt == np.float64 else torch.float32
        tp = torch.nn.Parameter(torch.tensor(p0, dtype=tdt))
        topt = getattr(torch.optim, name)([tp], foreach=False, **kw)
        ckw = dict(kw, **({"clip_norm": 1.0} if clip == "norm" else {"clip_value": 0.5} if clip == "value" else {}))
        core = make_core(name, ckw, dt)
        p = p0.astype(dt)
        for t in range(steps):
            g = gradient(p.astype(np.float64), t, target, noise).astype(dt)
            core.step_arrays(p, g)
            tg = gradient(tp.detach().numpy().astype(np.float64), t, target, noise)
            tp.grad = torch.tensor(tg, dtype=tdt)
            if clip == "norm":
                torch.nn.utils.clip_grad_norm_([tp], 1.0)
            elif clip == "value":
                torch.nn.utils.clip_grad_value_([tp], 0.5)
            topt.step()
        want = tp.detach().numpy().astype(np.float64)
        np.testing.assert_allclose(p.astype(np.float64), want, rtol=rtol,
                                   atol=rtol * np.abs(want).max(), err_msg=str(dt))
        for key, v in core.state().items():
            tv = topt.state[tp][key].detach().numpy().astype(np.float64)
            np.testing.assert_allclose(v.astype(np.float64), tv, rtol=rtol,
                                       atol=rtol * max(np.abs(tv).max(), 1e-30), err_msg=f"{key} {dt}")
