"""An exponential moving average of the model's weights over the joint phase (`ema_decay`).

The smoke fine-tune ends after a few hundred noisy steps; the average of the last ~1/(1-decay)
steps' weights is a cheaper estimate of where they were heading than the last step's. It is what
gets evaluated, decoded from and exported: the loop copies it into the model when the joint phase
ends, before the report-decoder phase caches the image side's memory.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class WeightEMA:
    def __init__(self, model: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        state = model.state_dict()
        self.keys = [k for k, v in state.items() if v.dtype.is_floating_point]
        self.shadow = [state[k].detach().clone() for k in self.keys]

    def rate(self) -> float:
        # early on the average would mostly remember the starting weights; ramp the decay up (timm's warmup)
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = self.rate()
        state = model.state_dict()
        current = [state[k] for k in self.keys]
        torch._foreach_mul_(self.shadow, d)
        torch._foreach_add_(self.shadow, current, alpha=1.0 - d)

    def copy_to(self, model: nn.Module) -> None:
        model.load_state_dict(dict(zip(self.keys, self.shadow)), strict=False)

    def state_dict(self) -> dict[str, Any]:
        return {"decay": self.decay, "updates": self.updates, "shadow": dict(zip(self.keys, self.shadow))}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if set(state["shadow"]) != set(self.keys):
            raise ValueError("EMA state does not match the model's weights")
        self.updates = int(state["updates"])
        self.shadow = [state["shadow"][k].clone() for k in self.keys]
