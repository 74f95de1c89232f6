"""Recurrent layers in NumPy, a plain loop over the steps: the twins of the
``rnn`` kernels (SimpleRNN, LSTM, GRU) and of the Embedding lookup, in
float64.

Shapes: x (n, steps, F); W_ih (F, G·H) and W_hh (H, G·H) in entrena's
(in, out) orientation (PyTorch's ``weight_ih_l0`` is W_ihᵀ); b_ih, b_hh
(G·H,). Gates in PyTorch's order: LSTM i, f, g, o (G = 4); GRU r, z, n
(G = 3); SimpleRNN one (G = 1). A mask (n, steps) marks the real steps: a
masked step keeps the state and outputs zeros. ``reverse`` runs from the
last step to the first (outputs stay at their positions).
"""
import numpy as np

GATES = {"tanh": 1, "relu": 1, "lstm": 4, "gru": 3}


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _order(steps, reverse):
    return range(steps - 1, -1, -1) if reverse else range(steps)


def rnn_forward(cell, x, W_ih, W_hh, b_ih=None, b_hh=None, h0=None, c0=None, mask=None, reverse=False):
    """Returns (y (n, steps, H), h (n, H), c (n, H), cache) over all steps."""
    n, steps, _ = x.shape
    H = W_hh.shape[0]
    b_ih = np.zeros(W_ih.shape[1]) if b_ih is None else b_ih
    b_hh = np.zeros(W_hh.shape[1]) if b_hh is None else b_hh
    h = np.zeros((n, H)) if h0 is None else np.array(h0, dtype=np.float64)
    c = np.zeros((n, H)) if c0 is None else np.array(c0, dtype=np.float64)
    real = np.ones((n, steps), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    y = np.zeros((n, steps, H))
    cache = []
    for t in _order(steps, reverse):
        xt, m = x[:, t], real[:, t][:, None]
        ax = xt @ W_ih + b_ih          # the input part of every gate
        ah = h @ W_hh + b_hh           # the recurrent part
        step = {"t": t, "h_prev": h, "c_prev": c, "ah": ah}
        if cell in ("tanh", "relu"):
            a = ax + ah
            h_new = np.tanh(a) if cell == "tanh" else np.maximum(a, 0.0)
            step["h_new"] = h_new
            c_new = c
        elif cell == "lstm":
            a = ax + ah
            i, f = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H])
            g, o = np.tanh(a[:, 2 * H:3 * H]), _sigmoid(a[:, 3 * H:])
            c_new = f * c + i * g
            h_new = o * np.tanh(c_new)
            step.update(i=i, f=f, g=g, o=o, c_new=c_new)
        elif cell == "gru":
            r = _sigmoid(ax[:, :H] + ah[:, :H])
            z = _sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
            nn = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
            h_new = (1.0 - z) * nn + z * h
            step.update(r=r, z=z, n=nn)
            c_new = c
        else:
            raise ValueError(f"cell: expected 'tanh', 'relu', 'lstm' or 'gru', got {cell!r}")
        h = np.where(m, h_new, h)
        c = np.where(m, c_new, c)
        y[:, t] = np.where(m, h_new, 0.0)
        step["mask"] = m
        cache.append(step)
    return y, h, c, cache


def rnn_backward(cell, x, W_ih, W_hh, cache, dy=None, dh_last=None, dc_last=None):
    """Backpropagation through time. Returns a dict of dx, dW_ih, dW_hh,
    db_ih, db_hh, dh0, dc0."""
    n, steps, _ = x.shape
    H = W_hh.shape[0]
    dW_ih, dW_hh = np.zeros_like(W_ih, dtype=np.float64), np.zeros_like(W_hh, dtype=np.float64)
    db_ih, db_hh = np.zeros(W_ih.shape[1]), np.zeros(W_hh.shape[1])
    dx = np.zeros(x.shape)
    dh = np.zeros((n, H)) if dh_last is None else np.array(dh_last, dtype=np.float64)
    dc = np.zeros((n, H)) if dc_last is None else np.array(dc_last, dtype=np.float64)
    for step in reversed(cache):
        t, m = step["t"], step["mask"]
        d = dh + (np.where(m, dy[:, t], 0.0) if dy is not None else 0.0)
        h_prev = step["h_prev"]
        if cell in ("tanh", "relu"):
            hn = step["h_new"]
            da = d * (1.0 - hn ** 2) if cell == "tanh" else d * (hn > 0)
            dax = dah = np.where(m, da, 0.0)
            dh_direct, dc_new = np.where(m, 0.0, d), dc
        elif cell == "lstm":
            i, f, g, o, cn = step["i"], step["f"], step["g"], step["o"], step["c_new"]
            tc = np.tanh(cn)
            dcv = dc + d * o * (1.0 - tc ** 2)
            da = np.concatenate([dcv * g * i * (1 - i), dcv * step["c_prev"] * f * (1 - f),
                                 dcv * i * (1 - g ** 2), d * tc * o * (1 - o)], axis=1)
            dax = dah = np.where(m, da, 0.0)
            dh_direct = np.where(m, 0.0, d)
            dc_new = np.where(m, dcv * f, dc)
        else:
            r, z, nn = step["r"], step["z"], step["n"]
            ahn = step["ah"][:, 2 * H:]
            dn = d * (1 - z) * (1 - nn ** 2)
            dz = d * (h_prev - nn) * z * (1 - z)
            dr = dn * ahn * r * (1 - r)
            dax = np.where(m, np.concatenate([dr, dz, dn], axis=1), 0.0)
            dah = np.where(m, np.concatenate([dr, dz, dn * r], axis=1), 0.0)
            dh_direct = np.where(m, d * z, d)
            dc_new = dc
        dW_ih += x[:, t].T @ dax
        db_ih += dax.sum(axis=0)
        dW_hh += h_prev.T @ dah
        db_hh += dah.sum(axis=0)
        dx[:, t] = dax @ W_ih.T
        dh = dh_direct + dah @ W_hh.T
        dc = dc_new
    return {"dx": dx, "dW_ih": dW_ih, "dW_hh": dW_hh, "db_ih": db_ih, "db_hh": db_hh, "dh0": dh,
            "dc0": dc if cell == "lstm" else np.zeros_like(dc)}


def rnn(cell, x, W_ih, W_hh, b_ih=None, b_hh=None, h0=None, c0=None, mask=None, reverse=False, dy=None,
        dh_last=None, dc_last=None):
    """The twin of ``_core.kernels.rnn``: forward and backward in one call,
    returning the same dict (y, h, c and the gradients)."""
    y, h, c, cache = rnn_forward(cell, x, W_ih, W_hh, b_ih, b_hh, h0, c0, mask, reverse)
    out = {"y": y, "h": h, "c": c if cell == "lstm" else np.zeros_like(c)}
    out.update(rnn_backward(cell, x, W_ih, W_hh, cache, dy, dh_last, dc_last))
    if b_ih is None:
        out["db_ih"] = np.zeros_like(out["db_ih"])
    if b_hh is None:
        out["db_hh"] = np.zeros_like(out["db_hh"])
    return out


def embedding_forward(ids, W):
    """ids (n, ...) integers -> W[ids] (n, ..., D)."""
    return W[np.asarray(ids, dtype=np.int64)]


def embedding_backward(ids, dy, num_embeddings, padding_idx=None):
    """dW (num_embeddings, D): the sum of dy over the positions of each id;
    the padding row gets no gradient."""
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    dy = dy.reshape(len(ids), -1)
    dW = np.zeros((num_embeddings, dy.shape[1]))
    np.add.at(dW, ids, dy)
    if padding_idx is not None:
        dW[padding_idx] = 0.0
    return dW
