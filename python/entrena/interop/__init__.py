"""Models in and out of entrena: ONNX export (verified with ONNX Runtime)
and PyTorch modules.

- ``export_onnx(model, path, opset=17)`` (also ``model.export_onnx`` and
  ``python -m entrena export``): needs ``onnx`` (``pip install
  "entrena[onnx]"``; ``onnxruntime`` runs the files).
- ``from_torch(module)``: an ``nn.Sequential`` (or one layer) as an entrena
  Sequential with the same weights; ``to_torch(model)`` (also
  ``model.to_torch()``): the way back. Needs PyTorch.
"""
from ._onnx import export_onnx
from ._torch import from_torch, to_torch

__all__ = ["export_onnx", "from_torch", "to_torch"]
