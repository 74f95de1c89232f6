"""PyTorch modules for what entrena layers do and PyTorch has no module for:
the output selection of recurrent layers, pooling with Keras' "same"
padding, Reshape, Normalization, GaussianNoise, and an Embedding that takes
ids stored as floats. ``to_torch`` uses them; they are plain, picklable
``nn.Module`` classes (importing this module imports torch)."""
import torch
from torch import nn

__all__ = ["RecurrentModule", "PoolSame", "Reshape", "Standardize", "GaussianNoise", "EmbeddingIds"]


class RecurrentModule(nn.Module):
    """An nn.RNN / LSTM / GRU (batch_first) returning what the entrena
    layer returns: the output sequence or the last output, the two
    directions merged ("concat", "sum", "mul", "ave"); go_backwards runs
    the sequence from its end and keeps outputs at their steps."""

    def __init__(self, rnn, return_sequences: bool, go_backwards: bool = False, merge_mode: str = "concat"):
        super().__init__()
        self.rnn, self.return_sequences = rnn, return_sequences
        self.go_backwards, self.merge_mode = go_backwards, merge_mode

    def forward(self, x):
        if self.go_backwards:
            x = torch.flip(x, [1])
        out, state = self.rnn(x)
        h = state[0] if isinstance(state, tuple) else state
        if self.go_backwards:
            out = torch.flip(out, [1])
        if self.return_sequences:
            parts = out.chunk(2, dim=-1) if self.rnn.bidirectional else (out,)
        else:
            parts = (h[-2], h[-1]) if self.rnn.bidirectional else (h[-1],)
        if len(parts) == 1 or self.merge_mode == "concat":
            return torch.cat(parts, dim=-1)
        if self.merge_mode == "sum":
            return parts[0] + parts[1]
        if self.merge_mode == "mul":
            return parts[0] * parts[1]
        return (parts[0] + parts[1]) / 2


class Reshape(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


class Standardize(nn.Module):
    """entrena's Normalization: (x - mean) / max(sqrt(variance), 1e-7)."""

    def __init__(self, mean, variance):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean))
        self.register_buffer("variance", torch.as_tensor(variance))

    def forward(self, x):
        return (x - self.mean) / torch.clamp(torch.sqrt(self.variance), min=1e-7)


class GaussianNoise(nn.Module):
    def __init__(self, stddev):
        super().__init__()
        self.stddev = stddev

    def forward(self, x):
        return x + self.stddev * torch.randn_like(x) if self.training else x


class EmbeddingIds(nn.Embedding):
    """nn.Embedding that also takes ids stored as floats (entrena's inputs)."""

    def forward(self, ids):
        return super().forward(ids.long())


class PoolSame(nn.Module):
    """entrena's pooling with padding="same" (Keras' rule, the extra row or
    column at the end): padded positions never win a max nor count in an
    average."""

    def __init__(self, kind: str, pool_size, strides, pads):
        super().__init__()
        self.kind, self.pool_size, self.strides = kind, tuple(pool_size), tuple(strides)
        self.pads = tuple(pads)     # F.pad order: last axis first, (begin, end) per axis

    def forward(self, x):
        f = torch.nn.functional
        dims = len(self.pool_size)
        pool = getattr(f, f"{'max' if self.kind == 'max' else 'avg'}_pool{dims}d")
        if self.kind == "max":
            return pool(f.pad(x, self.pads, value=float("-inf")), self.pool_size, self.strides)
        ones = f.pad(torch.ones_like(x[:1, :1]), self.pads)
        return pool(f.pad(x, self.pads), self.pool_size, self.strides) / pool(ones, self.pool_size, self.strides)
