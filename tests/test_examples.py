"""The Python examples run and show what they claim."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")


@pytest.mark.skipif(not os.path.isdir(EXAMPLES), reason="examples/ is not in this tree")
def test_cnn_digits_beats_the_mlp():
    r = subprocess.run([sys.executable, os.path.join(EXAMPLES, "cnn_digits.py")], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    m = re.search(r"test accuracy on (\d+) digits: MLP ([0-9.]+), CNN with augmentation ([0-9.]+)", r.stdout)
    assert m, r.stdout[-3000:]
    n, mlp, cnn = int(m.group(1)), float(m.group(2)), float(m.group(3))
    assert n > 200
    assert cnn > mlp and cnn > 0.97, r.stdout[-3000:]
    assert "Conv2D" in r.stdout and "(None, 64, 4, 4)" in r.stdout     # the summary's shapes


def _run(name):
    r = subprocess.run([sys.executable, os.path.join(EXAMPLES, name)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


@pytest.mark.skipif(not os.path.isdir(EXAMPLES), reason="examples/ is not in this tree")
def test_lstm_forecast_beats_the_naive_forecast():
    out = _run("forecast_co2.py")
    m = re.search(r"test months: (\d+).*?naive last value ([0-9.]+), LSTM ([0-9.]+)", out, re.S)
    assert m, out[-3000:]
    months, naive, lstm = int(m.group(1)), float(m.group(2)), float(m.group(3))
    assert months > 90
    assert lstm < 0.5 * naive, out[-3000:]


@pytest.mark.skipif(not os.path.isdir(EXAMPLES), reason="examples/ is not in this tree")
def test_gru_classifies_variable_length_sequences():
    out = _run("sequence_classifier.py")
    m = re.search(r"lengths (\d+) to (\d+)\ntest accuracy: GRU ([0-9.]+), majority class ([0-9.]+)", out)
    assert m, out[-3000:]
    shortest, longest, acc, majority = int(m.group(1)), int(m.group(2)), float(m.group(3)), float(m.group(4))
    assert shortest < longest
    assert acc > 0.9 and majority < 0.5, out[-3000:]
    assert "Embedding" in out and "(None, 40, 16)" in out


@pytest.mark.skipif(not os.path.isdir(EXAMPLES), reason="examples/ is not in this tree")
def test_randomized_search_example():
    pytest.importorskip("sklearn")
    out = _run("hyperparameter_search.py")
    assert re.search(r"best parameters: \{.*'lr': [0-9.e-]+.*\}", out), out[-3000:]
    cv = float(re.search(r"best cross-validated accuracy: ([0-9.]+)", out).group(1))
    test = re.search(r"test accuracy of the refitted best pipeline: ([0-9.]+) \((\d+) digits\)", out)
    assert test, out[-3000:]
    assert cv > 0.95 and float(test.group(1)) > 0.95 and int(test.group(2)) == 450, out[-3000:]


@pytest.mark.skipif(not os.path.isdir(EXAMPLES), reason="examples/ is not in this tree")
def test_optuna_example():
    pytest.importorskip("sklearn")
    pytest.importorskip("optuna")
    out = _run("optuna_search.py")
    m = re.search(r"(\d+) trials in [0-9.]+ s \((\d+) pruned\)", out)
    assert m and int(m.group(1)) == 30, out[-3000:]
    assert re.search(r"best parameters: \{'lr': [0-9.e-]+, 'layers': \d", out), out[-3000:]
    test = float(re.search(r"test accuracy: ([0-9.]+) \(143 tumours\)", out).group(1))
    assert test > 0.93, out[-3000:]
