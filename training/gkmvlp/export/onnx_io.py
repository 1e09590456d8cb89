"""ONNX export of one graph (opset 17) and onnxruntime execution / parity against PyTorch."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .graphs import dynamic_axes

OPSET = 17


def _export_kwargs() -> dict:
    # torch >= 2.9 defaults to the dynamo exporter; ask for the TorchScript one we test against.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        return {"dynamo": False}
    return {}


def export_graph(module: nn.Module, example: Sequence[torch.Tensor], spec: dict, path: str | Path) -> None:
    module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about python ints are expected and checked by parity
        torch.onnx.export(
            module,
            tuple(example),
            str(path),
            opset_version=OPSET,
            do_constant_folding=True,
            input_names=[t["name"] for t in spec["inputs"]],
            output_names=[t["name"] for t in spec["outputs"]],
            dynamic_axes=dynamic_axes(spec),
            **_export_kwargs(),
        )


def ort_session(path: str | Path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = max(1, torch.get_num_threads())
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])


def run_ort(session, spec: dict, inputs: Sequence[torch.Tensor]) -> list[np.ndarray]:
    feed = {t["name"]: x.detach().cpu().numpy() for t, x in zip(spec["inputs"], inputs)}
    return session.run([t["name"] for t in spec["outputs"]], feed)


@torch.no_grad()
def run_torch(module: nn.Module, inputs: Sequence[torch.Tensor]) -> list[np.ndarray]:
    out = module(*inputs)
    out = out if isinstance(out, (tuple, list)) else (out,)
    return [o.detach().cpu().numpy() for o in out]


def max_abs_diff(a: Sequence[np.ndarray], b: Sequence[np.ndarray], where: str) -> float:
    worst = 0.0
    for i, (x, y) in enumerate(zip(a, b)):
        if x.shape != y.shape:
            raise AssertionError(f"{where}: output {i} shape {x.shape} (onnxruntime) != {y.shape} (torch)")
        if x.size:
            worst = max(worst, float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))))
    return worst
