"""One adapter per library, all with the same small interface, so that a
worker can train, predict and read weights the same way everywhere.

    lib = make(name, params, opt, threads)  # params: [W0, b0, ...] (in, out)
    lib.train_epoch(X, y, batch_size)        # one pass in stored order -> epoch loss
    lib.predict(X)                           # logits ('logits') or probabilities ('proba')
    lib.output_kind

Every adapter trains the same network (Dense layers with ReLU between them,
softmax cross-entropy from logits, mean over the batch) from the same
initial weights, in float32, over the same batches (stored order, the last
batch smaller), with the same optimizer: ``opt`` is {"name": "adam" | "sgd",
"lr": ...} with PyTorch's defaults for the rest.
"""
from __future__ import annotations

import warnings

import numpy as np


class EntrenaLib:
    name = "entrena"
    output_kind = "logits"

    def __init__(self, params, opt, threads):
        import entrena
        self.entrena = entrena
        entrena.set_num_threads(threads)
        widths = [params[i].shape[1] for i in range(0, len(params), 2)]
        layers = [entrena.Dense(u, activation="relu") for u in widths[:-1]] + [entrena.Dense(widths[-1])]
        self.model = entrena.Sequential(layers, dtype="float32", seed=0)
        self.model.build(params[0].shape[0])
        for p, q in zip(self.model.parameters(), params):
            p[...] = q
        if opt["name"] == "adam":
            o = entrena.optimizers.Adam(lr=opt["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
        else:
            o = entrena.optimizers.SGD(lr=opt["lr"])
        self.model.compile(loss="categorical_crossentropy", optimizer=o)

    def train_epoch(self, X, y, batch_size):
        h = self.model.fit(X, y, epochs=1, batch_size=batch_size, shuffle=False, verbose=0)
        return float(h.history["loss"][-1])

    def predict(self, X):
        return self.model.predict(X)

    def weights(self):
        return [np.array(p) for p in self.model.parameters()]


class NumpyLib:
    """entrena.reference.trainer: the plain NumPy twin (float32, NumPy's BLAS)."""
    name = "numpy"
    output_kind = "logits"

    def __init__(self, params, opt, threads):
        from entrena.reference import trainer as ref
        o = ref.Adam(lr=opt["lr"]) if opt["name"] == "adam" else ref.SGD(lr=opt["lr"])
        self.t = ref.MLPTrainer(params, optimizer=o, dtype=np.float32)

    def train_epoch(self, X, y, batch_size):
        return self.t.fit_epoch(X, y, batch_size)

    def predict(self, X):
        return self.t.predict(X)

    def weights(self):
        return [p.copy() for p in self.t.params]


class TorchLib:
    """PyTorch eager: nn.Sequential of nn.Linear and nn.ReLU, CrossEntropyLoss,
    torch.optim with its defaults; the batch loop is the usual one."""
    name = "torch"
    output_kind = "logits"

    def __init__(self, params, opt, threads):
        import torch
        self.torch = torch
        torch.set_num_threads(threads)
        mods = []
        n_layers = len(params) // 2
        for li in range(n_layers):
            W, b = params[2 * li], params[2 * li + 1]
            lin = torch.nn.Linear(W.shape[0], W.shape[1])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))   # (out, in)
                lin.bias.copy_(torch.from_numpy(np.asarray(b)))
            mods.append(lin)
            if li + 1 < n_layers:
                mods.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*mods)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        if opt["name"] == "adam":
            self.opt = torch.optim.Adam(self.model.parameters(), lr=opt["lr"], betas=(0.9, 0.999),
                                        eps=1e-8, weight_decay=0.0)
        else:
            self.opt = torch.optim.SGD(self.model.parameters(), lr=opt["lr"])
        self._cache = (None, None)

    def _tensors(self, X, y):
        # Conversions happen once per data set (from_numpy shares memory).
        if self._cache[0] is not X:
            self._cache = (X, (self.torch.from_numpy(X), self.torch.from_numpy(y.astype(np.int64))))
        return self._cache[1]

    def train_epoch(self, X, y, batch_size):
        torch = self.torch
        Xt, yt = self._tensors(X, y)
        self.model.train()
        total = torch.zeros((), dtype=torch.float64)
        n = len(X)
        for s in range(0, n, batch_size):
            xb, yb = Xt[s:s + batch_size], yt[s:s + batch_size]
            self.opt.zero_grad()
            loss = self.loss_fn(self.model(xb), yb)
            loss.backward()
            self.opt.step()
            total += loss.detach() * len(xb)
        return float(total) / n

    def predict(self, X):
        torch = self.torch
        self.model.eval()
        with torch.inference_mode():
            return self.model(torch.from_numpy(X)).numpy()

    def weights(self):
        out = []
        for m in self.model:
            if isinstance(m, self.torch.nn.Linear):
                out += [m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy()]
        return out


class SklearnLib:
    """sklearn.neural_network.MLPClassifier (solver adam or sgd, no L2, no
    early stopping, tol 0, shuffle off). Its initial weights are set through
    warm_start: a partial_fit on one sample per class creates the network,
    the weights are replaced by ours, and the first epoch is a fit (with
    warm_start it starts from them, with a fresh optimizer; it needs every
    class in y); later epochs are partial_fit calls, which keep the
    optimizer state. With two classes MLPClassifier has one logistic output
    unit instead of two softmax ones; the initial weights are then mapped
    to the same initial predictions (w = w1 - w0), but the trajectory differs."""
    name = "sklearn"
    output_kind = "proba"

    def __init__(self, params, opt, threads):
        from sklearn.neural_network import MLPClassifier
        self.params = [np.asarray(p, dtype=np.float32) for p in params]
        hidden = tuple(self.params[i].shape[1] for i in range(0, len(self.params) - 2, 2))
        common = dict(hidden_layer_sizes=hidden, activation="relu", alpha=0.0,
                      learning_rate_init=opt["lr"], max_iter=1, shuffle=False, tol=0.0,
                      early_stopping=False, n_iter_no_change=10**9, warm_start=True,
                      random_state=0)
        if opt["name"] == "adam":
            self.clf = MLPClassifier(solver="adam", beta_1=0.9, beta_2=0.999, epsilon=1e-8, **common)
        else:
            self.clf = MLPClassifier(solver="sgd", momentum=0.0, nesterovs_momentum=False,
                                     learning_rate="constant", **common)
        self.n_classes = self.params[-1].shape[0]
        self.binary = self.n_classes == 2
        # Create the network (all classes declared), then put our weights in.
        k, d = self.n_classes, self.params[0].shape[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.clf.partial_fit(np.zeros((k, d), np.float32), np.arange(k), classes=np.arange(k))
        self.set_weights(self.params)

    def set_weights(self, params):
        coefs = [params[i].copy() for i in range(0, len(params), 2)]
        inters = [params[i].copy() for i in range(1, len(params), 2)]
        if self.binary:   # sigmoid(z1 - z0) == softmax(z)[1]
            coefs[-1] = (coefs[-1][:, 1:2] - coefs[-1][:, 0:1]).copy()
            inters[-1] = (inters[-1][1:2] - inters[-1][0:1]).copy()
        self.clf.coefs_ = coefs
        self.clf.intercepts_ = inters
        self._fresh = True

    def train_epoch(self, X, y, batch_size):
        self.clf.batch_size = batch_size
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self._fresh:
                # fit with warm_start: a new optimizer, starting from coefs_
                self.clf.fit(X, y)
                self._fresh = False
            else:
                # partial_fit: one more epoch with the same optimizer state
                self.clf.partial_fit(X, y)
        return float(self.clf.loss_)

    def predict(self, X):
        return self.clf.predict_proba(X)

    def weights(self):
        if self.binary:
            return None
        out = []
        for W, b in zip(self.clf.coefs_, self.clf.intercepts_):
            out += [W.copy(), b.copy()]
        return out


ADAPTERS = {"entrena": EntrenaLib, "numpy": NumpyLib, "torch": TorchLib, "sklearn": SklearnLib}


def available(name: str):
    """(True, version) if the library imports, else (False, reason)."""
    mod = {"entrena": "entrena", "numpy": "entrena.reference.trainer", "torch": "torch",
           "sklearn": "sklearn.neural_network"}[name]
    try:
        m = __import__(mod)
        return True, getattr(m, "__version__", "")
    except Exception as e:  # noqa: BLE001
        return False, f"{type(e).__name__}: {e}"


def make(name, params, opt, threads):
    return ADAPTERS[name](params, opt, threads)
