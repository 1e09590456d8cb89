"""Configuration of the synthetic chest X-ray generator (saved into dataset.json)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

# Conditional probability that a pathology is drawn, given that the study is abnormal.
# With p_normal=0.30 this gives marginal prevalences of roughly 9-17% per finding (see README).
DEFAULT_FINDING_WEIGHTS: dict[str, float] = {
    "Enlarged Cardiomediastinum": 0.13,
    "Cardiomegaly": 0.20,
    "Lung Lesion": 0.17,
    "Edema": 0.14,
    "Consolidation": 0.16,
    "Pneumonia": 0.14,
    "Atelectasis": 0.19,
    "Pneumothorax": 0.14,
    "Pleural Effusion": 0.21,
    "Pleural Other": 0.12,
    "Fracture": 0.13,
}

SEVERITIES: tuple[str, ...] = ("mild", "moderate", "severe")


@dataclass
class GeneratorConfig:
    image_size: int = 224
    p_normal: float = 0.30  # probability that a study has no pathology (devices allowed)
    p_ap: float = 0.30  # probability of an AP (portable) film instead of PA
    p_devices_pa: float = 0.08  # support devices on PA films
    p_devices_ap: float = 0.40  # support devices on AP films (ICU patients)
    finding_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FINDING_WEIGHTS))
    severity_weights: tuple[float, float, float] = (0.40, 0.35, 0.25)
    max_pathologies: int = 4
    noise_scale: float = 1.0  # multiplies the detector noise level
    closed_questions_per_image: int = 4  # closed (yes/no) presence questions, half yes when possible

    def __post_init__(self) -> None:
        problems = []
        if not (64 <= int(self.image_size) <= 512):
            problems.append(f"image_size must be in [64, 512], got {self.image_size}")
        for name in ("p_normal", "p_ap", "p_devices_pa", "p_devices_ap"):
            v = getattr(self, name)
            if not (0.0 <= v <= 1.0):
                problems.append(f"{name} must be a probability, got {v}")
        unknown = set(self.finding_weights) - set(DEFAULT_FINDING_WEIGHTS)
        if unknown:
            problems.append(f"finding_weights has unknown labels {sorted(unknown)}")
        if len(self.severity_weights) != 3 or min(self.severity_weights) < 0:
            problems.append("severity_weights must be three non-negative numbers")
        if self.max_pathologies < 1:
            problems.append("max_pathologies must be >= 1")
        if problems:
            raise ValueError("invalid GeneratorConfig: " + "; ".join(problems))
        self.image_size = int(self.image_size)
        self.severity_weights = tuple(float(w) for w in self.severity_weights)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["severity_weights"] = list(self.severity_weights)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> GeneratorConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
