"""Pre-training / fine-tuning loop: AdamW + warmup-cosine, tqdm, resumable checkpoints, curves.

Pretrain learns the WordPiece vocabulary and the answer vocabulary from the training split;
finetune reuses those from `init_from` and trains on `label_fraction` of the labelled training
images (a seeded subset) with the fine-tuning loss weights.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..model.gkmvlp import GKMVLP
from ..model.losses import compute_losses, weights_with
from ..model.positions import resize_positions
from ..ontology import LABELS
from ..tokenizer import WordPieceTokenizer
from . import checkpoint as ck
from .augment import intensity_augment
from .batches import TensorSet, answer_vocab, build_tensors, corpus, read_split
from .budget import BUDGET_PROBE_STEPS, BUDGET_WARMUP_STEPS, fit_to_budget
from .config import TrainConfig, to_dict, warmup_cosine
from .decoder_phase import make_decoder_optimizer, run_decoder_phase
from .plots import plot_history
from .ssl import ssl_loss


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Warmup then cosine; with an image-only curriculum each phase gets its own warmup and cosine.

    One cosine over both phases left the text objectives only the tail of the schedule (the smoke
    run's LM loss was still 1.7 after its 300 full steps); restarting gives them a full schedule.
    """
    start, end = 0, cfg.steps
    if cfg.image_only_steps:
        start, end = (0, cfg.image_only_steps) if step < cfg.image_only_steps else (cfg.image_only_steps, cfg.steps)
    return warmup_cosine(step - start, cfg.warmup_steps, end - start, cfg.min_lr_frac)


def make_optimizer(model: GKMVLP, cfg: TrainConfig) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "emb" in n or n.endswith("pos") or "queries" in n else decay).append(p)
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.98),
    )


def prepare(cfg: TrainConfig) -> tuple[TrainConfig, WordPieceTokenizer, list[str], dict[str, Any] | None]:
    """Tokenizer + answers (learned, or inherited from init_from) and the config they imply."""
    init_blob = None
    if cfg.stage == "finetune":
        init_blob = ck.load_blob(cfg.init_from)
        tok = WordPieceTokenizer(init_blob["vocab"])
        answers = list(init_blob["answers"])
        model_cfg = replace(
            cfg.model,
            **{
                k: v
                for k, v in init_blob["model_config"].items()
                if k not in ("dropout", "anatomy_head", "anatomy_subcells")
            },
        )
        if cfg.finetune_image_size:
            model_cfg = replace(model_cfg, image_size=cfg.finetune_image_size)
            errs = model_cfg.validate()
            if errs:
                raise ValueError(f"finetune_image_size {cfg.finetune_image_size}: {'; '.join(errs)}")
        return replace(cfg, model=model_cfg), tok, answers, init_blob
    recs = read_split(cfg.data, "train")
    if cfg.max_train:
        recs = recs[: cfg.max_train]
    text = corpus(recs)
    if cfg.real_corpus:  # real report language (IU X-ray, text only) joins the templates' vocabulary
        from .real_batches import iu_report_texts

        text += iu_report_texts(cfg.real_corpus)
    tok = WordPieceTokenizer.train(text, vocab_size=cfg.vocab_size)
    answers = answer_vocab(recs, cfg.model.num_answers)
    return (
        replace(cfg, model=replace(cfg.model, vocab_size=tok.vocab_size, num_answers=len(answers))),
        tok,
        answers,
        None,
    )


def train_subset(cfg: TrainConfig, n: int) -> np.ndarray:
    idx = np.random.default_rng(cfg.seed + 1).permutation(n)
    keep = max(1, int(math.ceil(cfg.label_fraction * n)))
    return np.sort(idx[:keep])


def real_pos_weight(labels: np.ndarray, known: np.ndarray, cap: float) -> np.ndarray:
    """Per label: sqrt(negatives / positives) over the films that know it, within [1, cap]; 1 without positives."""
    pos, neg = (labels * known).sum(0), ((1 - labels) * known).sum(0)
    w = np.sqrt(np.divide(neg, pos, out=np.ones_like(neg, dtype=np.float64), where=pos > 0))
    return np.clip(w, 1.0, cap).astype(np.float32)


def real_draws(real_idx: np.ndarray, ids: list[str], want: int, cfg: TrainConfig) -> np.ndarray:
    """Each real film's entries in the draw list: `want` in all (at least one per film), shared in proportion
    to its source's weight (cfg.real_source_weights by id prefix, default 1); fractional shares are
    rounded at random with the run's seed, so the list is the same on every resume."""
    if len(ids) != len(real_idx):
        raise ValueError(f"{len(ids)} real ids for {len(real_idx)} real films")
    total = max(want, len(real_idx))
    if not cfg.real_source_weights:
        reps = max(1, int(math.ceil(total / len(real_idx))))
        return np.tile(real_idx, reps)[:total]
    w = np.array([float(cfg.real_source_weights.get(i.split(":", 1)[0], 1.0)) for i in ids])
    quota = total * w / w.sum()
    reps = np.floor(quota).astype(np.int64)
    reps += np.random.default_rng(cfg.seed + 2).random(len(quota)) < (quota - reps)
    return np.repeat(real_idx, np.maximum(reps, 1))


def add_real_films(
    cfg: TrainConfig, tok: WordPieceTokenizer, answers: list[str], train_set: TensorSet, subset: np.ndarray
) -> tuple[TensorSet, np.ndarray]:
    """The synthetic set with the corpus's real training films appended, and the draw list in which
    real films make up `real_share` of the draws (repeated as needed: there are fewer of them)."""
    from .real_batches import build_real_tensors, concat, read_corpus

    rows = read_corpus(cfg.real_corpus, "train")
    if not rows:
        raise ValueError(f"real corpus {cfg.real_corpus} has no frontal training films")
    real = build_real_tensors(cfg.real_corpus, rows, cfg.model, tok, answers, seed=cfg.seed)
    n_syn = len(train_set)
    merged = concat(train_set, real)
    real_idx = np.arange(n_syn, n_syn + len(real))
    want = int(round(len(subset) * cfg.real_share / max(1e-9, 1 - cfg.real_share)))
    draws = np.concatenate([subset, real_draws(real_idx, [r["id"] for r in rows], want, cfg)])
    print(f"[train] real films: {len(real)} ({len(draws) - len(subset)} draws of {len(draws)})")
    if cfg.real_source_weights:
        ids = [r["id"].split(":", 1)[0] for r in rows]
        per = {
            k: int(v) for k, v in zip(*np.unique([ids[i - n_syn] for i in draws[len(subset) :]], return_counts=True))
        }
        print(f"[train] real draws per source (weights {cfg.real_source_weights}): {per}")
    if cfg.real_pos_weight_max > 1.0:
        pw = real_pos_weight(real.arrays["labels"].numpy(), real.arrays["label_known"].numpy(), cfg.real_pos_weight_max)
        merged.pos_weight = torch.from_numpy(pw)
        print(f"[train] positive weights (real films): {dict(zip(LABELS, pw.round(2).tolist()))}")
    return merged, np.sort(draws)


def ssl_films(cfg: TrainConfig) -> torch.Tensor | None:
    """The real training films' pixels for the self-supervised term (None when cfg.real_ssl is off)."""
    if not cfg.real_ssl:
        return None
    from .real_batches import read_corpus, real_pixels

    rows = read_corpus(cfg.real_corpus, "train")
    if not rows:
        raise ValueError(f"real corpus {cfg.real_corpus} has no frontal training films")
    pixels = real_pixels(cfg.real_corpus, rows, cfg.model)
    print(f"[train] self-supervised term on {len(pixels)} real films (weight {cfg.real_ssl})")
    return pixels


def run(
    cfg: TrainConfig,
    resume: bool = True,
    on_step: Callable[[int, dict], None] | None = None,
    train_set: TensorSet | None = None,
) -> Path:
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / ck.CKPT
    cfg, tok, answers, init_blob = prepare(cfg)
    tok.save(out / "vocab.txt")
    (out / "answers.json").write_text(json.dumps(answers, indent=1))

    if train_set is None:
        recs = read_split(cfg.data, "train")
        if cfg.max_train:
            recs = recs[: cfg.max_train]
        train_set = build_tensors(cfg.data, recs, cfg.model, tok, answers, "train")
    subset = train_subset(cfg, len(train_set)) if cfg.stage == "finetune" else np.arange(len(train_set))
    report_subset = subset
    if cfg.real_corpus and cfg.stage == "finetune":
        train_set, subset = add_real_films(cfg, tok, answers, train_set, subset)

    dev = torch.device(cfg.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {cfg.device!r} asked for, but torch sees no CUDA device")
    ssl_pixels = ssl_films(cfg)
    model = GKMVLP.build(cfg.model, tok)
    if init_blob is not None:
        state = resize_positions(init_blob["model"], cfg.model.grid)
        missing, unexpected = model.load_state_dict(state, strict=False)
        new = [k for k in missing if not k.startswith("anatomy.")]
        if new or unexpected:  # only a head the fine-tune adds may start fresh
            raise ValueError(f"init_from does not fit this model: missing {new}, unexpected {unexpected}")
    model.to(dev)  # before the optimizer (its state follows the parameters) and before a resume loads into it
    opt = make_optimizer(model, cfg)
    np_rng = np.random.default_rng(cfg.seed)
    step, history, order, resumed_extra = 0, [], [], {}
    if resume and ckpt_path.is_file():
        blob = ck.load_blob(ckpt_path)
        model.load_state_dict(blob["model"])
        opt.load_state_dict(blob["optimizer"])
        step, history = int(blob["step"]), list(blob["history"])
        if cfg.time_budget_s:  # the steps the budget chose when the run began, not the command line's
            cfg = replace(
                cfg, steps=int(blob["config"]["steps"]), image_only_steps=int(blob["config"]["image_only_steps"])
            )
        ck.set_rng_state(blob["rng"], np_rng)
        resumed_extra = blob["extra"]
        order = list(resumed_extra.get("order", []))
        print(f"[train] resumed from {ckpt_path} at step {step}")
    config = to_dict(cfg)

    dec_opt = make_decoder_optimizer(model, cfg) if cfg.decoder_steps else None
    if dec_opt is not None and "decoder_optimizer" in resumed_extra:
        dec_opt.load_state_dict(resumed_extra["decoder_optimizer"])

    def save(at: int):
        extra = {"order": order}
        if dec_opt is not None and at > cfg.steps:
            extra["decoder_optimizer"] = dec_opt.state_dict()
        ck.save(
            ckpt_path,
            model=model,
            optimizer=opt,
            step=at,
            np_rng=np_rng,
            config=config,
            tokenizer=tok,
            answers=answers,
            history=history,
            extra=extra,
        )
        (out / "history.json").write_text(json.dumps(history, indent=1))  # readable progress mid-run

    # Curriculum: reports, questions and contrastive text need image features worth describing, and
    # an image-only step costs about half a full one (352 against 612 ms at batch 16 on 2 cores).
    image_only = weights_with(cfg.loss, itc=0.0, itm=0.0, lm=0.0, vqa=0.0)
    model.train()
    bar = tqdm(total=cfg.steps + cfg.decoder_steps, initial=step, desc=f"{cfg.stage} {cfg.model.size}", mininterval=5)
    t0, acc = time.time(), {}
    probe = cfg.time_budget_s > 0 and step == 0  # pace: steps WARMUP .. WARMUP + PROBE of a fresh run
    t_probe = t0
    while step < cfg.steps:
        if len(order) < cfg.batch_size:
            order += np_rng.permutation(subset).tolist()
        idx = order[: cfg.batch_size]
        del order[: cfg.batch_size]  # in place: save() checkpoints the rest of this epoch's order
        batch = train_set.batch(idx, np_rng)
        if train_set.pos_weight is not None:
            batch["label_pos_weight"] = train_set.pos_weight
        batch = {k: v.to(dev, non_blocking=True) for k, v in batch.items()}
        if cfg.intensity_aug:
            m = cfg.model
            batch["pixel_values"] = intensity_augment(batch["pixel_values"], m.mean, m.std, cfg.intensity_aug)
        for g in opt.param_groups:
            g["lr"] = cfg.lr * lr_factor(step, cfg)
        weights = image_only if step < cfg.image_only_steps else cfg.loss
        losses = compute_losses(model, batch, weights, teacher_forcing=step < cfg.teacher_forcing_steps)
        if ssl_pixels is not None:
            films = ssl_pixels[torch.from_numpy(np_rng.integers(0, len(ssl_pixels), cfg.ssl_batch_size))]
            losses["ssl"] = ssl_loss(model, films.to(dev), cfg.ssl_temperature)
            losses["total"] = losses["total"] + cfg.real_ssl * losses["ssl"]
        opt.zero_grad(set_to_none=True)
        losses["total"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        step += 1
        if probe and step == BUDGET_WARMUP_STEPS:
            t_probe = time.time()
        if probe and step == BUDGET_WARMUP_STEPS + BUDGET_PROBE_STEPS:
            now = time.time()
            cfg = fit_to_budget(cfg, step, now - t0, (now - t_probe) / BUDGET_PROBE_STEPS, bar)
            config = to_dict(cfg)
        for k, v in losses.items():
            acc[k] = acc.get(k, 0.0) + float(v)
        acc["_n"] = acc.get("_n", 0) + 1
        if step % cfg.log_every == 0 or step == cfg.steps:
            row = {k: v / acc["_n"] for k, v in acc.items() if k != "_n"}
            row.update(step=step, lr=cfg.lr * lr_factor(step - 1, cfg), elapsed_s=time.time() - t0)
            history.append(row)
            acc = {}
            bar.set_postfix(loss=f"{row['total']:.3f}", lm=f"{row['lm']:.2f}", ecls=f"{row['ecls']:.3f}")
            if on_step:
                on_step(step, row)
        bar.update(1)
        if step % cfg.ckpt_every == 0 and step < cfg.steps:
            save(step)
    if dec_opt is not None:
        if step == cfg.steps:
            save(step)  # the joint phase's end is a resume point: the cache below is rebuilt from it
        # only films with a report teach the decoder (real films have none: it would learn silence)
        step = run_decoder_phase(model, cfg, train_set, report_subset, step, dec_opt, np_rng, history, save, bar)
    bar.close()
    save(step)
    if history:
        plot_history(history, out / "curves.png", title=f"{cfg.stage} ({cfg.model.size})")
    return ckpt_path
