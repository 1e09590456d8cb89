"""Training to a time budget: a machine lent for minutes (a GPU) must end its run inside the lease, and the pace of
a step on it is not known in advance. After the first steps, the run's step count shrinks to what fits (loop.py)."""

from __future__ import annotations

from dataclasses import replace

from .config import TrainConfig

BUDGET_WARMUP_STEPS = 10  # the first steps (allocator, kernel choice, caches) do not show the pace
BUDGET_PROBE_STEPS = 40
FULL_STEP_COST = 2.0


def fit_to_budget(cfg: TrainConfig, step: int, elapsed: float, per: float, bar=None) -> TrainConfig:
    """`cfg` with `steps` (never more than asked) that fit the joint phase into cfg.time_budget_s, `elapsed` seconds
    of it gone at `step`, at `per` seconds a step (measured over the last BUDGET_PROBE_STEPS); image-only steps keep
    their share. A pace measured on image-only steps counts a full step as FULL_STEP_COST of them (352 against
    612 ms on 2 CPU cores; taken high). A resumed run keeps the steps chosen when it began."""
    share = cfg.image_only_steps / cfg.steps
    per_step = per * (share + (1 - share) * FULL_STEP_COST) if step <= cfg.image_only_steps else per
    fit = step + int(max(0.0, cfg.time_budget_s - elapsed) / max(per_step, 1e-9))
    steps = max(step + 1, min(cfg.steps, fit))
    if steps == cfg.steps:
        return cfg
    image_only = min(steps - 1, int(round(cfg.image_only_steps * steps / cfg.steps)))
    msg = (
        f"[train] time budget {cfg.time_budget_s:.0f} s at {per * 1000:.1f} ms a step: {steps} steps "
        f"instead of {cfg.steps} (image-only {image_only})"
    )
    (bar.write if bar is not None else print)(msg)  # on a line of its own, not inside the progress bar's
    if bar is not None:
        bar.total = steps + cfg.decoder_steps
    return replace(cfg, steps=steps, image_only_steps=image_only)


__all__ = ["BUDGET_WARMUP_STEPS", "BUDGET_PROBE_STEPS", "FULL_STEP_COST", "fit_to_budget"]
