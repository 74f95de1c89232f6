"""Model files through the bindings (entrena._core.save / load / inspect):
round trips, the safetensors layout as the `safetensors` package reads it,
corrupt files, atomic writes."""
from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest

from entrena import _core


def _model(mod, seed=0, input_dim=6):
    m = mod.Sequential(seed)
    m.add('{"type": "Dense", "units": 8, "kernel_init": "he_normal", "activation": "relu"}')
    m.add('{"type": "Dropout", "rate": 0.2}')
    m.add('{"type": "Dense", "units": 3, "use_bias": false}')
    m.build([input_dim])
    return m


@pytest.fixture(params=["f32", "f64"])
def mod(request):
    return getattr(_core, request.param)


def _x(dtype, n=5, d=6):
    return np.linspace(-1, 1, n * d, dtype=dtype).reshape(n, d)


def test_round_trip_is_bitwise(tmp_path, mod):
    m = _model(mod, seed=3)
    path = tmp_path / "model.safetensors"
    _core.save(m, path, {"loss": json.dumps({"name": "categorical_crossentropy"})})
    m2, meta, opt = _core.load(str(path))
    assert type(m2) is type(m)
    assert opt is None
    assert m2.params.dtype == m.params.dtype
    assert m2.params.tobytes() == m.params.tobytes()
    x = _x(m.params.dtype)
    np.testing.assert_array_equal(mod.predict(m2, x), mod.predict(m, x))
    assert meta["format"] == "entrena"
    assert meta["dtype"] == ("float32" if mod is _core.f32 else "float64")
    assert meta["entrena_version"] == _core.__version__
    assert json.loads(meta["loss"]) == {"name": "categorical_crossentropy"}
    arch = json.loads(meta["architecture"])
    assert arch["input_shape"] == [6]
    assert [layer["type"] for layer in arch["layers"]] == ["Dense", "Dropout", "Dense"]
    assert arch["layers"][0]["activation"] == "relu"
    assert arch["layers"][0]["kernel_init"]["name"] == "he_normal"
    assert arch["layers"][2]["use_bias"] is False


def test_readable_by_the_safetensors_package(tmp_path, mod):
    st = pytest.importorskip("safetensors.numpy")
    from safetensors import safe_open
    m = _model(mod, seed=1)
    path = tmp_path / "m.safetensors"
    _core.save(m, path, {"note": "hello"})
    tensors = st.load_file(str(path))
    assert sorted(tensors) == ["layers.0.W", "layers.0.b", "layers.2.W"]
    views = {name: p for name, p, _ in
             [(f"layers.{i}.{n}", p, g) for i in range(3) for n, p, g in m.layer_params(i)]}
    for name, arr in tensors.items():
        np.testing.assert_array_equal(arr, views[name])
        assert arr.dtype == m.params.dtype
    assert tensors["layers.0.W"].shape == (6, 8)  # (in, out)
    with safe_open(str(path), framework="numpy") as f:
        assert f.metadata()["format"] == "entrena"
        assert f.metadata()["note"] == "hello"


def test_files_written_by_the_safetensors_package_load(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    m = _model(_core.f64, seed=2)
    src = tmp_path / "ours.safetensors"
    _core.save(m, src)
    meta, _ = _core.inspect(src)
    copy = tmp_path / "theirs.safetensors"
    st.save_file(st.load_file(str(src)), str(copy), metadata=meta)
    m2, meta2, _ = _core.load(copy)
    assert m2.params.tobytes() == m.params.tobytes()
    assert meta2 == meta


def test_dtype_conversion(tmp_path):
    m = _model(_core.f64, seed=5)
    path = tmp_path / "m.safetensors"
    _core.save(m, path)
    m32, meta, _ = _core.load(path, dtype="float32")
    assert isinstance(m32, _core.f32.Sequential)
    np.testing.assert_array_equal(m32.params, m.params.astype(np.float32))
    assert meta["dtype"] == "float64"
    with pytest.raises(ValueError, match="dtype"):
        _core.load(path, dtype="int8")


def test_optimizer_state_round_trip(tmp_path, mod):
    m = _model(mod, seed=4)
    opt = mod.make_optimizer("adam", '{"lr": 0.01}')
    loss = mod.make_loss("categorical_crossentropy")
    dtype = m.params.dtype
    X = _x(dtype, n=8)
    y = (np.arange(8) % 3).astype(dtype)
    mod.fit(m, loss, opt, X, y, epochs=1, batch_size=4, shuffle=False)
    path = tmp_path / "m.safetensors"
    _core.save(m, path, optimizer=opt)
    m2, meta, state = _core.load(path)
    assert json.loads(meta["optimizer_state"]) == {"name": "adam", "steps": 2}
    assert sorted(state) == ["exp_avg", "exp_avg_sq"]
    for name, view in opt.state().items():
        np.testing.assert_array_equal(state[name], view)
    # The same through plain arrays.
    path2 = tmp_path / "m2.safetensors"
    _core.save(m, path2, optimizer_state={k: np.asarray(v) for k, v in opt.state().items()},
               optimizer_name="adam", optimizer_steps=2)
    _, meta2, state2 = _core.load(path2)
    assert meta2["optimizer_state"] == meta["optimizer_state"]
    assert state2.keys() == state.keys()
    with pytest.raises(ValueError, match="optimizer_name"):
        _core.save(m, path2, optimizer_state={"exp_avg": np.zeros(3)})


def test_save_argument_errors(tmp_path, mod):
    m = _model(mod)
    with pytest.raises(ValueError, match="reserved"):
        _core.save(m, tmp_path / "a.safetensors", {"architecture": "mine"})
    with pytest.raises(TypeError):
        _core.save(m, tmp_path / "a.safetensors", {"k": 1})
    unbuilt = mod.Sequential(0)
    unbuilt.add('{"type": "Dense", "units": 2}')
    with pytest.raises(RuntimeError, match="not built"):
        _core.save(unbuilt, tmp_path / "a.safetensors")
    assert os.listdir(tmp_path) == []


def test_atomic_write_leaves_no_temp_file(tmp_path):
    m = _model(_core.f32)
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"previous")
    _core.save(m, path)
    assert os.listdir(tmp_path) == ["m.safetensors"]
    with pytest.raises(OSError):
        _core.save(m, tmp_path / "missing_dir" / "m.safetensors")
    (tmp_path / "sub").mkdir()
    with pytest.raises(OSError):
        _core.save(m, tmp_path / "sub")  # a directory is in the way
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors", "sub"]
    assert os.listdir(tmp_path / "sub") == []


def test_unreadable_files_raise_oserror(tmp_path):
    with pytest.raises(OSError, match="missing.safetensors"):
        _core.load(tmp_path / "missing.safetensors")
    with pytest.raises(OSError, match="directory"):
        _core.load(tmp_path)


def _header_file(header: dict, data: bytes) -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


@pytest.mark.parametrize("content, message", [
    (b"", "fewer than the 8"),
    (b"\x05\x00\x00", "fewer than the 8"),
    (struct.pack("<Q", 2**63) + b"{}", "more than the limit"),
    (struct.pack("<Q", 50) + b"{}", "truncated"),
    (struct.pack("<Q", 4) + b"{ab}", "not valid JSON"),
    (_header_file({"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8), "go past"),
    (_header_file({"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8), "span 8"),
    (_header_file({"t": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8), "I64 is not supported"),
    (_header_file({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8), "not an entrena model"),
    (_header_file({"__metadata__": {"format": "entrena", "dtype": "float32",
                                    "architecture": '{"input_shape": [2], "layers": [{"type": "Dense", "units": 1}]}'}},
                  b""), "missing tensor 'layers.0.W'"),
])
def test_corrupt_files_raise_valueerror(tmp_path, content, message):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        _core.load(path)


def test_every_truncation_fails_cleanly(tmp_path):
    m = _model(_core.f32)
    good = tmp_path / "good.safetensors"
    _core.save(m, good)
    data = good.read_bytes()
    bad = tmp_path / "bad.safetensors"
    for cut in range(0, len(data), 5):
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError):
            _core.load(bad)


def test_inspect_reads_only_the_header(tmp_path):
    m = _model(_core.f32)
    path = tmp_path / "m.safetensors"
    _core.save(m, path, {"k": "v"})
    meta, tensors = _core.inspect(path)
    assert meta["k"] == "v"
    assert tensors["layers.0.W"] == ("float32", (6, 8))
    assert "architecture" in _core.RESERVED_METADATA_KEYS


# ------------------------------------------------------------- schedules
def test_schedules_match_textbook_rates():
    s = _core.ExponentialDecay(0.5)
    s.reset(0.1)
    assert [s.lr_at(e) for e in range(3)] == pytest.approx([0.1, 0.05, 0.025])
    s = _core.StepDecay(2, gamma=0.1)
    s.reset(1.0)
    assert [s.lr_at(e) for e in range(5)] == pytest.approx([1, 1, 0.1, 0.1, 0.01])
    s = _core.CosineAnnealing(T_max=4, eta_min=0.0)
    s.reset(1.0)
    assert [s.lr_at(e) for e in range(5)] == pytest.approx([1, 0.8535533905932737, 0.5, 0.14644660940672627, 0])
    s = _core.LambdaSchedule(lambda e: 1 / (e + 1))
    s.reset(0.3)
    assert s.lr_at(2) == pytest.approx(0.1)
    p = _core.ReduceLROnPlateau(factor=0.5, patience=1)
    p.reset(1.0)
    assert p.lr_at(0) == 1.0
    assert [p.lr_at(e + 1, m) for e, m in enumerate([3.0, 3.0, 3.0, 2.0, 2.0, 2.0])] == [1, 1, 0.5, 0.5, 0.5, 0.25]
    assert p.uses_metric and not s.uses_metric


def test_schedule_errors():
    with pytest.raises(ValueError, match="step_size"):
        _core.StepDecay(0)
    with pytest.raises(ValueError, match="'min' or 'max'"):
        _core.ReduceLROnPlateau(mode="up")
    s = _core.LambdaSchedule(lambda e: 1 / 0)
    s.reset(1.0)
    with pytest.raises(ZeroDivisionError):
        s.lr_at(0)
