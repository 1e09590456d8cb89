"""PyTorch eager vs ONNX Runtime on the same weights and inputs (the bench's `ort_vs_torch`).

    python bench/torch_vs_ort.py --bundle DIR --images a.png b.png --threads 1 --rounds 5 --out result.json

Weights: the checkpoint the bundle was exported from (--checkpoint, else manifest.config.training.out),
accepted only if its image encoder reproduces the bundle's ONNX encoder within the bundle's parity
tolerance (so "same weights" is checked, not assumed). Without such a checkpoint the model is built
from the manifest's config with its random initialisation and exported to a temporary folder, so both
sides still run identical weights (timings do not depend on the values); the JSON says which.

Per image, both sides do the same work: encoder, classification, localization and VQA heads, and a
greedy report with the KV-cached decoder step (both pick the same tokens, so the same number of
steps). Rounds interleave the two sides and alternate which goes first; medians and spread are
reported. Threads: torch.set_num_threads(T) and ORT intra_op_num_threads=T, inter_op 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "training"))

from gkmvlp import blas  # noqa: E402

blas.configure()  # torch's OpenBLAS must get the CPU's kernels, or "torch time" measures a fallback


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", required=True)
    p.add_argument("--images", nargs="+", required=True)
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--budget-s", type=float, default=120.0, help="stop adding rounds after this (at least 2 run)")
    p.add_argument("--out", required=True)
    return p.parse_args(argv)


def log(msg: str) -> None:
    print(f"[torch_vs_ort] {msg}", file=sys.stderr, flush=True)


def candidates(manifest: dict, bundle: Path, explicit: str | None) -> list[Path]:
    out: list[Path] = []
    if explicit:
        out.append(Path(explicit))
    run = (manifest.get("config") or {}).get("training", {}).get("out")
    if run:
        for base in (Path("/"), ROOT / "training", ROOT, bundle.parent):
            out.append(base / run)
    out.append(bundle.parent)  # training/runs/<run>/bundle → training/runs/<run>
    seen, uniq = set(), []
    for p in out:
        q = p / "checkpoint.pt" if p.suffix != ".pt" else p
        if q.is_file() and q.resolve() not in seen:
            seen.add(q.resolve())
            uniq.append(q)
    return uniq


def blas_in_use() -> str:
    """The BLAS library actually mapped into this process (Debian's torch uses whatever the
    alternatives system provides: OpenBLAS, or the ~9x slower reference BLAS)."""
    import torch
    a = torch.randn(64, 64)
    (a @ a).sum()
    libs = sorted({os.path.realpath(line.split()[-1]) for line in open("/proc/self/maps") if "blas" in line.lower()})
    return ", ".join(sorted({os.path.basename(p) for p in libs})) or "unknown"


def main(argv=None) -> None:
    args = parse_args(argv)
    import numpy as np
    import onnxruntime as ort
    import torch

    torch.set_num_threads(args.threads)
    bundle = Path(args.bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    tol = float(manifest.get("parity", {}).get("tolerance", 1e-3))

    from gkmvlp.export import graphs as G
    from gkmvlp.export.onnx_io import export_graph
    from gkmvlp.model.preprocess import preprocess_file

    pre = manifest["preprocessing"]
    xs = [preprocess_file(p, pre["image_size"], pre["mean"], pre["std"])[0].astype(np.float32) for p in args.images]

    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL

    def sessions(folder: Path) -> dict:
        # the random-init fallback exports only the graphs G.specs knows (not the fitted v2 input_check), which
        # are the ones compared here
        return {n: ort.InferenceSession(str(folder / manifest["graphs"][n]["file"]), sess_options=so,
                                        providers=["CPUExecutionProvider"])
                for n in manifest["graphs"] if (folder / manifest["graphs"][n]["file"]).exists()}

    ort_sess = sessions(bundle)
    model, weights, tmpdir = None, None, None
    from gkmvlp.train.checkpoint import load_model
    for ck in candidates(manifest, bundle, args.checkpoint):
        try:
            m, _, _, _ = load_model(ck)
        except Exception as e:  # a checkpoint of another shape is simply not this bundle's
            log(f"skip {ck}: {e}")
            continue
        enc = G.ImageEncoderGraph(m).eval()
        with torch.no_grad():
            t_out = [o.numpy() for o in enc(torch.from_numpy(xs[0]))]
        o_out = ort_sess["image_encoder"].run(None, {"pixel_values": xs[0]})
        diff = max(float(np.max(np.abs(a - b))) for a, b in zip(t_out, o_out) if a.size)
        if diff <= tol:
            model, weights = m, {"source": "checkpoint", "path": str(ck), "encoder_max_abs_diff": diff}
            break
        log(f"skip {ck}: encoder differs from the bundle by {diff:.3g} (> {tol})")
    if model is None:
        from gkmvlp.model.config import ModelConfig, from_dict
        from gkmvlp.model.gkmvlp import GKMVLP
        from gkmvlp.tokenizer import WordPieceTokenizer
        cfg_dict = {k: v for k, v in manifest["config"].items() if k != "training"}
        cfg = from_dict(ModelConfig, cfg_dict)
        vocab = (bundle / manifest["tokenizer"]["vocab_file"]).read_text().splitlines()
        torch.manual_seed(0)
        model = GKMVLP.build(cfg, WordPieceTokenizer(vocab)).eval()
        tmpdir = tempfile.TemporaryDirectory(prefix="bench-torch-")
        specs = G.specs(model)
        for n, s in specs.items():
            export_graph(s["module"](model).eval(), G.example_inputs(model, n), s, Path(tmpdir.name) / s["file"])
        ort_sess = sessions(Path(tmpdir.name))
        weights = {"source": "random-init", "path": None,
                   "note": "no checkpoint reproducing this bundle was found: model built from manifest.config with random "
                           "weights and exported to a temporary folder; both sides run those weights"}
    log(f"weights: {weights}")

    specs = G.specs(model)
    mods = {n: s["module"](model).eval() for n, s in specs.items()}
    cfg = model.cfg
    dec = manifest["decoding"]
    max_steps = min(int(dec["max_new_tokens"]), int(dec.get("max_position", cfg.max_length)) - 1)
    q_len = cfg.question_max_length
    q_ids = np.zeros((1, q_len), dtype=np.int64)
    q_ids[0, :6] = [2, 10, 11, 12, 13, 3]
    q_mask = (q_ids != 0).astype(np.int64)
    bos, eos = int(dec["bos_id"]), int(dec["eos_id"])

    def ort_image(x):
        s = ort_sess
        g, patches, boxes, regions, know, w = s["image_encoder"].run(None, {"pixel_values": x})
        s["classification_head"].run(None, {"global_embedding": g, "knowledge_tokens": know})
        s["localization_head"].run(None, {"patch_tokens": patches, "knowledge_tokens": know})
        s["vqa_head"].run(None, {"question_ids": q_ids, "question_mask": q_mask, "patch_tokens": patches, "knowledge_tokens": know})
        mem = np.concatenate([regions, know], axis=1)
        pk = np.zeros((cfg.decoder_layers, 1, cfg.heads, 0, cfg.head_dim), dtype=np.float32)
        pv = pk
        tok, ids = bos, []
        for t in range(max_steps):
            logits, pk, pv = s["report_decoder_step"].run(None, {
                "token_ids": np.array([[tok]], dtype=np.int64), "position": np.array([t], dtype=np.int64),
                "memory": mem, "past_keys": pk, "past_values": pv})
            tok = int(np.argmax(logits[0]))
            if tok == eos:
                break
            ids.append(tok)
        return ids

    @torch.inference_mode()
    def torch_image(x):
        g, patches, boxes, regions, know, w = mods["image_encoder"](torch.from_numpy(x))
        mods["classification_head"](g, know)
        mods["localization_head"](patches, know)
        mods["vqa_head"](torch.from_numpy(q_ids), torch.from_numpy(q_mask), patches, know)
        mem = torch.cat([regions, know], dim=1)
        pk = torch.zeros(cfg.decoder_layers, 1, cfg.heads, 0, cfg.head_dim)
        pv = pk
        tok, ids = bos, []
        for t in range(max_steps):
            logits, pk, pv = mods["report_decoder_step"](torch.tensor([[tok]]), torch.tensor([t]), mem, pk, pv)
            tok = int(torch.argmax(logits[0]))
            if tok == eos:
                break
            ids.append(tok)
        return ids

    def graph_inputs(n: str, batch: int):
        ex = G.example_inputs(model, n, batch=batch, past=8)
        feed = {t["name"]: x.numpy() for t, x in zip(specs[n]["inputs"], ex)}
        return ex, feed

    # warm-up and a same-tokens check (same weights → same greedy report)
    same = torch_image(xs[0]) == ort_image(xs[0])
    log(f"greedy reports identical on both sides: {same}")

    per_graph_cases = [("image_encoder", 1), ("image_encoder", 4), ("classification_head", 1),
                       ("localization_head", 1), ("vqa_head", 1), ("report_decoder_step", 3)]
    graph_t = {f"{n}@{b}": {"torch": [], "ort": []} for n, b in per_graph_cases}
    comp = {"torch": [], "ort": [], "ratio": []}
    started = time.perf_counter()
    rounds = 0
    for r in range(args.rounds):
        if r >= 2 and time.perf_counter() - started > args.budget_s:
            log(f"time budget reached after {r} rounds")
            break
        order = ["torch", "ort"] if r % 2 == 0 else ["ort", "torch"]
        t_side = {}
        for side in order:
            t0 = time.perf_counter()
            for x in xs:
                (torch_image if side == "torch" else ort_image)(x)
            t_side[side] = (time.perf_counter() - t0) * 1000 / len(xs)
        comp["torch"].append(t_side["torch"])
        comp["ort"].append(t_side["ort"])
        comp["ratio"].append(t_side["torch"] / t_side["ort"])
        for n, b in per_graph_cases:
            ex, feed = graph_inputs(n, b)
            reps = 3 if n == "image_encoder" else 10
            for side in order:
                t0 = time.perf_counter()
                for _ in range(reps):
                    if side == "torch":
                        with torch.inference_mode():
                            mods[n](*ex)
                    else:
                        ort_sess[n].run(None, feed)
                graph_t[f"{n}@{b}"][side].append((time.perf_counter() - t0) * 1000 / reps)
        rounds += 1
        log(f"round {r + 1}: per image torch {t_side['torch']:.1f} ms, ort {t_side['ort']:.1f} ms → {comp['ratio'][-1]:.2f}")

    def spread(v):
        v = sorted(v)
        med = v[(len(v) - 1) // 2]
        return {"median": round(med, 4), "min": round(v[0], 4), "max": round(v[-1], 4),
                "relSpread": round((v[-1] - v[0]) / med, 3) if med else None, "n": len(v), "values": [round(x, 4) for x in v]}

    result = {
        "threads": args.threads, "rounds": rounds, "images": len(xs), "weights": weights,
        "torch_version": torch.__version__, "onnxruntime_version": ort.__version__,
        "blas": blas_in_use(),
        "torch_cpu_capability": next((l.split(":", 1)[1].strip() for l in torch.__config__.show().splitlines()
                                      if "CPU capability usage" in l), None),
        "greedy_reports_identical": same,
        "per_image_ms": {"torch": spread(comp["torch"]), "ort": spread(comp["ort"])},
        "ort_vs_torch": spread(comp["ratio"]),
        "per_graph_ms": {k: {"torch": spread(v["torch"])["median"], "ort": spread(v["ort"])["median"],
                             "ratio": round(spread(v["torch"])["median"] / spread(v["ort"])["median"], 3)}
                         for k, v in graph_t.items()},
        "work": "per image: encoder + classification + localization + VQA heads + greedy report (KV-cached steps)",
    }
    Path(args.out).write_text(json.dumps(result, indent=2))
    if tmpdir:
        tmpdir.cleanup()
    log(f"ort_vs_torch median {result['ort_vs_torch']['median']}")


if __name__ == "__main__":
    main()
