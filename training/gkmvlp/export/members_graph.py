"""The `classification_members` graph of an ensemble bundle (docs/contracts/model-bundle.md, "an ensemble of
classifiers"), composed from other bundles' own ONNX graphs, so no checkpoint is needed and each member runs
exactly the graphs its own bundle was parity-checked with.

Each member's image_encoder feeds its classification_head, its nodes and weights are prefixed so
that members cannot collide, all members read the one `pixel_values` input, and each member's probabilities
become `logit(clamp(p, 1e-6, 1 - 1e-6))`, stacked on axis 1 as `member_logits [batch, members, labels]`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..reliability.calibration import EPS  # the contract's clamp


def _prefixed(graph, prefix: str, rename: dict[str, str]):
    """(nodes, initializers) of a graph with every value name prefixed, except those in `rename`, which take the
    given name (onnx.compose does the same but took minutes on these graphs)."""
    from onnx import NodeProto

    def name(n: str) -> str:
        return "" if n == "" else rename.get(n, prefix + n)

    nodes = []
    for node in graph.node:
        if any(a.type in (a.GRAPH, a.GRAPHS) for a in node.attribute):
            raise ValueError(f"node {node.name} has a subgraph: not supported here")
        n = NodeProto()
        n.CopyFrom(node)
        n.name = prefix + node.name
        n.input[:] = [name(x) for x in node.input]
        n.output[:] = [name(x) for x in node.output]
        nodes.append(n)
    inits = []
    for t in graph.initializer:
        t2 = type(t)()
        t2.CopyFrom(t)
        t2.name = name(t.name)
        inits.append(t2)
    return nodes, inits


def _member(bundle: Path, prefix: str):
    """(nodes, initializers, opset, ir_version) of one bundle's encoder feeding its classification head; the
    encoder reads `pixel_values`, the head's output is `<prefix>probabilities`."""
    import onnx

    graphs = json.loads((bundle / "manifest.json").read_text())["graphs"]
    enc = onnx.load(str(bundle / graphs["image_encoder"]["file"]))
    head = onnx.load(str(bundle / graphs["classification_head"]["file"]))
    if list(enc.opset_import) != list(head.opset_import):
        raise ValueError(f"{bundle}: encoder and head have different opsets")
    n1, i1 = _prefixed(enc.graph, prefix + "enc_", {"pixel_values": "pixel_values"})
    feed = {x: prefix + "enc_" + x for x in ("global_embedding", "knowledge_tokens")}
    n2, i2 = _prefixed(head.graph, prefix + "head_", {**feed, "probabilities": prefix + "probabilities"})
    return n1 + n2, i1 + i2, list(enc.opset_import), enc.ir_version


def _needed(nodes: list, inits: list, output: str) -> tuple[list, list]:
    """Only the nodes (and weights) the output depends on: the encoders' other outputs (patch tokens, region
    boxes, ...) are not computed."""
    want, keep = {output}, []
    for n in reversed(nodes):
        if any(o in want for o in n.output):
            keep.append(n)
            want.update(n.input)
    return keep[::-1], [t for t in inits if t.name in want]


def members_graph(bundles: Sequence[Path], image_size: int, labels: int):
    """One ONNX model: pixel_values [batch, 1, S, S] -> member_logits [batch, len(bundles), labels]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if not bundles:
        raise ValueError("an ensemble needs at least one member besides the primary")
    nodes, inits, logits, opset, ir = [], [], [], None, None
    inits += [
        numpy_helper.from_array(np.array(EPS, np.float32), "eps_lo"),
        numpy_helper.from_array(np.array(1 - EPS, np.float32), "eps_hi"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array([1], np.int64), "axis_1"),
    ]
    for j, b in enumerate(bundles):
        p = f"m{j + 1}_"
        n, i, op, v = _member(Path(b), p)
        if opset is not None and op != opset:
            raise ValueError(f"{b}: opset {op} differs from the first member's {opset}")
        opset, ir = op, max(ir or 0, v)
        nodes += n
        inits += i
        prob = f"{p}probabilities"
        nodes += [
            helper.make_node("Clip", [prob, "eps_lo", "eps_hi"], [f"{p}p"]),
            helper.make_node("Sub", ["one", f"{p}p"], [f"{p}q"]),
            helper.make_node("Div", [f"{p}p", f"{p}q"], [f"{p}odds"]),
            helper.make_node("Log", [f"{p}odds"], [f"{p}logit"]),
            helper.make_node("Unsqueeze", [f"{p}logit", "axis_1"], [f"{p}logit3"]),
        ]
        logits.append(f"{p}logit3")
    nodes.append(helper.make_node("Concat", logits, ["member_logits"], axis=1))
    nodes, inits = _needed(nodes, inits, "member_logits")
    graph = helper.make_graph(
        nodes,
        "classification_members",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 1, image_size, image_size])],
        [helper.make_tensor_value_info("member_logits", TensorProto.FLOAT, ["batch", len(bundles), labels])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=opset, producer_name="gkmvlp.export.members_graph")
    model.ir_version = ir
    onnx.checker.check_model(model)
    return model


def io_spec(members: int, image_size: int, labels: int) -> dict:
    """The manifest's graphs entry (without the file)."""
    return {
        "inputs": [{"name": "pixel_values", "dtype": "float32", "shape": ["batch", 1, image_size, image_size]}],
        "outputs": [{"name": "member_logits", "dtype": "float32", "shape": ["batch", members, labels]}],
    }


__all__ = ["members_graph", "io_spec"]
