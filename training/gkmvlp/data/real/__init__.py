"""Real chest films from public repositories, assembled into one corpus (python -m gkmvlp.cli.assemble_real).

    from gkmvlp.data.real import load_manifest, split_of
    rows = load_manifest("../.local/real-corpus", split="train")   # validated manifest rows

sources.py lists each source and its licence, source_readers.py maps its folders to labels (as data),
source_types.py holds what they share, assemble.py builds the corpus,
manifest.py holds the row format, the split rule and the validating reader. numpy/Pillow/tqdm only.
"""

from .manifest import SPLITS, CorpusError, check_row, load_manifest, split_of

__all__ = ["SPLITS", "CorpusError", "check_row", "load_manifest", "split_of"]
