"""Synthetic chest X-rays with complete ground truth (labels, region boxes, finding boxes and
masks, reports, VQA pairs, knowledge triplets). See training/gkmvlp/data/README.md.

    from gkmvlp.data.synthetic import GeneratorConfig, generate_sample, generate_dataset
"""

from .config import GeneratorConfig
from .sample import SyntheticSample, generate_sample, sample_id

__all__ = ["GeneratorConfig", "SyntheticSample", "generate_sample", "generate_dataset", "sample_id"]


def generate_dataset(*args, **kwargs):
    from .writer import generate_dataset as _gd

    return _gd(*args, **kwargs)
