"""Exporting models to other runtimes: ``to_onnx`` (also ``model.export(path, format="onnx")``)."""
from .export_onnx import to_onnx

__all__ = ["to_onnx"]
