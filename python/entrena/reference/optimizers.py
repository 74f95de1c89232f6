"""Optimizer steps and gradient clipping in NumPy, with PyTorch's formulas.

The step functions mirror entrena's C++ kernels one for one and update their
array arguments in place; the classes mirror the C++ optimizers (state
created at the first step, clipping before the update, a step counter).
"""
from __future__ import annotations

import numpy as np


# ------------------------------------------------------------------- steps
def sgd_step(p, grad, momentum_buffer=None, *, lr, momentum=0.0, dampening=0.0,
             weight_decay=0.0, nesterov=False, first_step=False):
    """torch.optim.SGD:
    g = grad + weight_decay * p
    b = g (first step) | momentum * b + (1 - dampening) * g;  g = g + momentum * b (nesterov) | b
    p = p - lr * g
    """
    g = grad + weight_decay * p
    if momentum != 0:
        if first_step:
            momentum_buffer[...] = g
        else:
            momentum_buffer[...] = momentum * momentum_buffer + (1.0 - dampening) * g
        g = g + momentum * momentum_buffer if nesterov else momentum_buffer
    p -= lr * g


def _adam(p, grad, m, v, vmax, step, lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled):
    if decoupled:
        g = grad
        keep = 1.0 - lr * weight_decay
    else:
        g = grad + weight_decay * p
        keep = 1.0
    m[...] = beta1 * m + (1.0 - beta1) * g
    v[...] = beta2 * v + (1.0 - beta2) * g * g
    vhat = v
    if amsgrad:
        np.maximum(vmax, v, out=vmax)
        vhat = vmax
    bc1 = 1.0 - beta1 ** step
    bc2 = 1.0 - beta2 ** step
    denom = np.sqrt(vhat) * (1.0 / np.sqrt(bc2)) + eps
    p[...] = p * keep - (lr / bc1) * (m / denom)


def adam_step(p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq=None, *, step, lr=1e-3, beta1=0.9,
              beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False):
    """torch.optim.Adam, step t >= 1:
    g = grad + weight_decay * p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
    v_max = max(v_max, v) (amsgrad, used in place of v)
    p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
    """
    _adam(p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps,
          weight_decay, amsgrad, False)


def adamw_step(p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq=None, *, step, lr=1e-3, beta1=0.9,
               beta2=0.999, eps=1e-8, weight_decay=1e-2, amsgrad=False):
    """torch.optim.AdamW: p = p * (1 - lr * weight_decay), then Adam without weight decay."""
    _adam(p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps,
          weight_decay, amsgrad, True)


def rmsprop_step(p, grad, square_avg, grad_avg=None, momentum_buffer=None, *, lr=1e-2,
                 alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    """torch.optim.RMSprop:
    g = grad + weight_decay * p;  s = alpha s + (1 - alpha) g^2
    d = sqrt(s - a^2) + eps, a = alpha a + (1 - alpha) g (centered) | sqrt(s) + eps
    b = momentum b + g / d; p = p - lr b (momentum > 0) | p = p - lr g / d
    """
    g = grad + weight_decay * p
    square_avg[...] = alpha * square_avg + (1.0 - alpha) * g * g
    if centered:
        grad_avg[...] = alpha * grad_avg + (1.0 - alpha) * g
        d = np.sqrt(square_avg - grad_avg * grad_avg) + eps
    else:
        d = np.sqrt(square_avg) + eps
    if momentum > 0:
        momentum_buffer[...] = momentum * momentum_buffer + g / d
        p -= lr * momentum_buffer
    else:
        p -= lr * (g / d)


def adagrad_step(p, grad, sum, *, step, lr=1e-2, lr_decay=0.0, weight_decay=0.0, eps=1e-10):
    """torch.optim.Adagrad, step t >= 1:
    g = grad + weight_decay * p;  clr = lr / (1 + (t - 1) lr_decay)
    sum = sum + g^2;  p = p - clr * g / (sqrt(sum) + eps)
    """
    g = grad + weight_decay * p
    clr = lr / (1.0 + (step - 1) * lr_decay)
    sum += g * g
    p -= clr * (g / (np.sqrt(sum) + eps))


# ---------------------------------------------------------------- clipping
def grad_norm(g) -> float:
    """The global L2 norm sqrt(sum g^2), in float64."""
    g = np.asarray(g, dtype=np.float64)
    return float(np.sqrt(np.sum(g * g)))


def clip_grad_norm(g, max_norm) -> float:
    """torch.nn.utils.clip_grad_norm_: g *= max_norm / (norm + 1e-6) when that is < 1.
    In place; returns the norm before clipping."""
    norm = grad_norm(g)
    coef = max_norm / (norm + 1e-6)
    if not coef >= 1.0:
        g *= coef
    return norm


def clip_grad_value(g, clip_value) -> None:
    """torch.nn.utils.clip_grad_value_: g = clamp(g, -clip_value, clip_value). In place."""
    np.clip(g, -clip_value, clip_value, out=g)


# -------------------------------------------------------------- optimizers
class _Reference:
    """An optimizer over one flat float64 parameter vector, like the C++ one."""

    state_names: tuple = ()

    def __init__(self, lr, clip_norm=None, clip_value=None):
        self.lr = lr
        self.clip_norm = clip_norm
        self.clip_value = clip_value
        self.steps = 0
        self.state = {}

    def _init_state(self, n):
        for name in self.state_names:
            self.state[name] = np.zeros(n)

    def step(self, p, grad):
        """Updates p in place from grad (clipped in place first if configured)."""
        if not self.state and self.state_names:
            self._init_state(p.size)
        if self.clip_value:
            clip_grad_value(grad, self.clip_value)
        if self.clip_norm:
            clip_grad_norm(grad, self.clip_norm)
        self._update(p, grad)
        self.steps += 1


class SGD(_Reference):
    def __init__(self, lr=0.01, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                 **clip):
        super().__init__(lr, **clip)
        self.kw = dict(momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                       nesterov=nesterov)
        self.state_names = ("momentum_buffer",) if momentum != 0 else ()

    def _update(self, p, grad):
        sgd_step(p, grad, self.state.get("momentum_buffer"), lr=self.lr,
                 first_step=self.steps == 0, **self.kw)


class Adam(_Reference):
    decoupled = False

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 **clip):
        super().__init__(lr, **clip)
        self.kw = dict(beta1=betas[0], beta2=betas[1], eps=eps, weight_decay=weight_decay,
                       amsgrad=amsgrad)
        self.state_names = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())

    def _update(self, p, grad):
        fn = adamw_step if self.decoupled else adam_step
        s = self.state
        fn(p, grad, s["exp_avg"], s["exp_avg_sq"], s.get("max_exp_avg_sq"), step=self.steps + 1,
           lr=self.lr, **self.kw)


class AdamW(Adam):
    decoupled = True

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                 **clip):
        super().__init__(lr, betas, eps, weight_decay, amsgrad, **clip)


class RMSprop(_Reference):
    def __init__(self, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, **clip):
        super().__init__(lr, **clip)
        self.kw = dict(alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                       centered=centered)
        self.state_names = (("square_avg",) + (("momentum_buffer",) if momentum > 0 else ())
                            + (("grad_avg",) if centered else ()))

    def _update(self, p, grad):
        s = self.state
        rmsprop_step(p, grad, s["square_avg"], s.get("grad_avg"), s.get("momentum_buffer"),
                     lr=self.lr, **self.kw)


class Adagrad(_Reference):
    state_names = ("sum",)

    def __init__(self, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                 eps=1e-10, **clip):
        super().__init__(lr, **clip)
        self.initial_accumulator_value = initial_accumulator_value
        self.kw = dict(lr_decay=lr_decay, weight_decay=weight_decay, eps=eps)

    def _init_state(self, n):
        self.state["sum"] = np.full(n, float(self.initial_accumulator_value))

    def _update(self, p, grad):
        adagrad_step(p, grad, self.state["sum"], step=self.steps + 1, lr=self.lr, **self.kw)
