"""The smallest GK-MVLP the export tests build (64 px, one layer each), with or without the anatomy head."""

import torch

from gkmvlp.model import GKMVLP, preset
from gkmvlp.tokenizer import WordPieceTokenizer

ANSWERS = ["yes", "no", "left", "right"]
REPORTS = ["no pneumothorax.", "is there a pleural effusion? left"]


def micro_model(anatomy: bool = True, reports: list[str] = REPORTS, **sizes) -> tuple[GKMVLP, WordPieceTokenizer]:
    """`sizes` override the preset's dim, decoder_layers, max_length, ... (defaults: the smallest that exports)."""
    tok = WordPieceTokenizer.train(reports)
    shape = dict(dim=32, decoder_layers=1, max_length=16) | sizes
    cfg = preset(
        "tiny",
        image_size=64,
        heads=2,
        vit_depth=1,
        text_layers=1,
        vocab_size=tok.vocab_size,
        num_answers=len(ANSWERS),
        anatomy_head=anatomy,
        anatomy_subcells=4,
        **shape,
    )
    torch.manual_seed(0)
    return GKMVLP.build(cfg, tok).eval(), tok
