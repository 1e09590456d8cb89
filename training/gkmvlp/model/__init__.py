"""GK-MVLP model: config, modules, objectives, decoding."""

from .config import ConfigError, LossWeights, ModelConfig, preset
from .gkmvlp import GKMVLP

__all__ = ["ConfigError", "GKMVLP", "LossWeights", "ModelConfig", "preset"]
