"""Optimizer steps in NumPy, with PyTorch's formulas."""


def sgd_step(p, grad, lr, weight_decay=0.0):
    """torch.optim.SGD, momentum 0: p -= lr * (grad + weight_decay * p). In place."""
    p -= lr * (grad + weight_decay * p)
