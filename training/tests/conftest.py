"""Shared pytest setup: make `gkmvlp` importable when pytest is run from training/ or the repo root."""

import sys
from pathlib import Path

TRAINING = Path(__file__).resolve().parents[1]
if str(TRAINING) not in sys.path:
    sys.path.insert(0, str(TRAINING))

from gkmvlp import blas  # noqa: E402

blas.configure()  # before the tests import torch (see gkmvlp/blas.py)
