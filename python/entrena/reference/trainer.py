"""A multilayer perceptron trained in plain NumPy: the textbook twin of
entrena's engine, used by the tests (same trajectory as ``Sequential.fit``)
and by the benchmarks (the NumPy baseline).

The network is a stack of Dense layers, y = x·W + b with W of shape
(in, out), and ReLU after every layer but the last. The loss is softmax
cross-entropy from logits, averaged over the batch. The optimizers follow
PyTorch's formulas. Everything is computed in the dtype given (float32, or
float64 for exact comparisons); nothing here is tuned beyond using NumPy's
matrix product.

    params = [p.copy() for p in model.parameters()]     # W0, b0, W1, b1, ...
    ref = MLPTrainer(params, optimizer=Adam(lr=1e-3), dtype=np.float64)
    losses = ref.fit(X, y, epochs=3, batch_size=32)      # shuffle=False order

One epoch goes over the samples in the order given (``order``, a
permutation, or 0..n-1), in consecutive batches of ``batch_size``, the last
one smaller unless ``drop_last``. The loss an epoch reports is the mean over
samples of each batch's loss before that batch's update, as ``fit`` reports.
"""
from __future__ import annotations

import math

import numpy as np

from .activations import relu_backward, relu_forward
from .losses import categorical_crossentropy_backward, categorical_crossentropy_forward


class SGD:
    """torch.optim.SGD without momentum: g = grad + weight_decay * p; p -= lr * g."""

    def __init__(self, lr: float = 0.01, weight_decay: float = 0.0):
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.steps = 0

    def step(self, params, grads) -> None:
        for p, g in zip(params, grads):
            if self.weight_decay:
                g = g + self.weight_decay * p
            p -= self.lr * g
        self.steps += 1


class Adam:
    """torch.optim.Adam (amsgrad off), per parameter p with gradient g at step t:

        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g²
        p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

    def __init__(self, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        self.lr = float(lr)
        self.beta1, self.beta2 = (float(b) for b in betas)
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.steps = 0
        self.m = None
        self.v = None

    def step(self, params, grads) -> None:
        if self.m is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.steps += 1
        t = self.steps
        step_size = self.lr / (1.0 - self.beta1 ** t)
        bc2_sqrt = math.sqrt(1.0 - self.beta2 ** t)
        for p, g, m, v in zip(params, grads, self.m, self.v):
            if self.weight_decay:
                g = g + self.weight_decay * p
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * (g * g)
            p -= step_size * (m / (np.sqrt(v) / bc2_sqrt + self.eps))
        # (the arithmetic is in the parameters' dtype, as in PyTorch)


def make_optimizer(name: str, **kwargs):
    """'sgd' or 'adam' with PyTorch's argument names."""
    kinds = {"sgd": SGD, "adam": Adam}
    if name.lower() not in kinds:
        raise ValueError(f"optimizer: expected one of {sorted(kinds)}, got {name!r}")
    return kinds[name.lower()](**kwargs)


class MLPTrainer:
    """Dense layers with ReLU between them, softmax cross-entropy, one optimizer.

    params: [W0, b0, W1, b1, ...] with W_i of shape (in_i, out_i) and b_i of
    shape (out_i,) (for example ``model.parameters()`` of an entrena model);
    they are copied in ``dtype``. ``self.params`` holds the trained values.
    """

    def __init__(self, params, optimizer=None, dtype=np.float32):
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"dtype: expected float32 or float64, got {self.dtype}")
        params = [np.array(p, dtype=self.dtype, copy=True) for p in params]
        if len(params) < 2 or len(params) % 2:
            raise ValueError(f"params: expected [W0, b0, W1, b1, ...], got {len(params)} arrays")
        for i in range(0, len(params), 2):
            W, b = params[i], params[i + 1]
            if W.ndim != 2 or b.shape != (W.shape[1],):
                raise ValueError(f"params: layer {i // 2} has W {W.shape} and b {b.shape}; "
                                 "expected W (in, out) and b (out,)")
            if i and W.shape[0] != params[i - 2].shape[1]:
                raise ValueError(f"params: layer {i // 2} takes {W.shape[0]} inputs but the "
                                 f"layer before gives {params[i - 2].shape[1]}")
        self.params = params
        self.optimizer = optimizer if optimizer is not None else SGD()
        self.grads = [np.zeros_like(p) for p in params]

    @property
    def n_layers(self) -> int:
        return len(self.params) // 2

    # ------------------------------------------------------------ forward
    def forward(self, x, keep=False):
        """Logits for x (n, in). With keep, also the inputs of every layer
        and the pre-activations, for backward."""
        a = np.asarray(x, dtype=self.dtype)
        inputs, pre = [], []
        for li in range(self.n_layers):
            W, b = self.params[2 * li], self.params[2 * li + 1]
            inputs.append(a)
            z = a @ W
            z += b
            pre.append(z)
            a = relu_forward(z) if li + 1 < self.n_layers else z
        return (a, inputs, pre) if keep else a

    def predict(self, x):
        return self.forward(x)

    def loss(self, x, labels) -> float:
        """Mean softmax cross-entropy of the logits for x against class labels."""
        return float(categorical_crossentropy_forward(self.forward(x), np.asarray(labels)))

    # ----------------------------------------------------------- backward
    def backward(self, inputs, pre, dlogits):
        """Fills self.grads from the gradient of the loss w.r.t. the logits."""
        dy = dlogits
        for li in reversed(range(self.n_layers)):
            if li + 1 < self.n_layers:
                dy = relu_backward(pre[li], dy)
            W = self.params[2 * li]
            # dW = xᵀ·dy, db = column sums of dy, dx = dy·Wᵀ
            np.matmul(inputs[li].T, dy, out=self.grads[2 * li])
            np.sum(dy, axis=0, out=self.grads[2 * li + 1])
            if li:
                dy = dy @ W.T
        return self.grads

    # --------------------------------------------------------------- train
    def train_step(self, xb, yb) -> float:
        """Forward, loss, backward and one optimizer step on one batch;
        returns the batch loss before the update."""
        logits, inputs, pre = self.forward(xb, keep=True)
        loss = categorical_crossentropy_forward(logits, yb)
        dlogits = categorical_crossentropy_backward(logits, yb).astype(self.dtype, copy=False)
        self.backward(inputs, pre, dlogits)
        self.optimizer.step(self.params, self.grads)
        return float(loss)

    def fit_epoch(self, X, y, batch_size: int = 32, order=None, drop_last: bool = False) -> float:
        """One pass over (X, y) in batches taken in ``order`` (a permutation
        of 0..n-1; default the stored order). Returns the epoch's mean loss."""
        X = np.asarray(X, dtype=self.dtype)
        y = np.asarray(y)
        n = len(X)
        if len(y) != n:
            raise ValueError(f"y: expected {n} rows (one per sample of X), got {len(y)}")
        if order is not None:
            order = np.asarray(order)
            if sorted(order.tolist()) != list(range(n)):
                raise ValueError("order: expected a permutation of 0..n-1")
        stop = n - n % batch_size if drop_last else n
        total, seen = 0.0, 0
        for start in range(0, stop, batch_size):
            end = min(start + batch_size, n)
            if order is None:
                xb, yb = X[start:end], y[start:end]
            else:
                idx = order[start:end]
                xb, yb = X[idx], y[idx]
            total += self.train_step(xb, yb) * (end - start)
            seen += end - start
        return total / seen if seen else float("nan")

    def fit(self, X, y, epochs: int = 1, batch_size: int = 32, orders=None,
            drop_last: bool = False):
        """``epochs`` passes; ``orders`` is None (stored order every epoch)
        or one permutation per epoch. Returns the list of epoch losses."""
        losses = []
        for e in range(epochs):
            order = None if orders is None else orders[e]
            losses.append(self.fit_epoch(X, y, batch_size, order, drop_last))
        return losses


def mlp_params(sizes, rng=None, dtype=np.float32):
    """Glorot-uniform W and zero b for layer widths ``sizes`` (for use
    without an entrena model): [W0, b0, W1, b1, ...]."""
    rng = np.random.default_rng(rng)
    out = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        lim = math.sqrt(6.0 / (fan_in + fan_out))
        out.append(rng.uniform(-lim, lim, size=(fan_in, fan_out)).astype(dtype))
        out.append(np.zeros(fan_out, dtype=dtype))
    return out
