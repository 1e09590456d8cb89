"""Thin CLI entry points (python -m gkmvlp.cli.<name>)."""

from .. import blas

# Runs before any CLI module imports torch: OpenBLAS reads its settings when it loads.
blas.configure()
