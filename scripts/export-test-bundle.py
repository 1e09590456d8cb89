"""Exports a fresh tiny GK-MVLP bundle (random init, seeded) for the TypeScript parity tests.

The TypeScript side then checks its preprocessing, tokenizer and every graph against the golden vectors
that this Python export wrote in the same test run. Usage: python scripts/export-test-bundle.py OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))


def main(out: str) -> None:
    import torch

    from gkmvlp.export.bundle import write_bundle
    from gkmvlp.model import GKMVLP, preset
    from gkmvlp.tokenizer import WordPieceTokenizer

    torch.set_num_threads(1)
    reports = [
        "The heart size is normal. No pleural effusion or pneumothorax.",
        "Moderate left pleural effusion with adjacent atelectasis. Mild cardiomegaly.",
        "Right upper lobe consolidation, compatible with pneumonia. Endotracheal tube in place.",
        "Is there a pleural effusion? Which side is the pneumothorax on?",
    ]
    tok = WordPieceTokenizer.train(reports)
    answers = ["yes", "no", "left", "right", "bilateral", "mild", "moderate", "severe"]
    cfg = preset("tiny", image_size=64, dim=48, heads=2, vit_depth=1, text_layers=1, decoder_layers=2,
                 vocab_size=tok.vocab_size, num_answers=len(answers), max_length=32, anatomy_head=True)
    torch.manual_seed(0)
    model = GKMVLP.build(cfg, tok).eval()
    goldens = sorted((ROOT / "demo" / "studies" / "synthetic").glob("*.png"))[:1]
    path, parity = write_bundle(model, tok, answers, out, name="gkmvlp-test", version="0.0.0-test",
                                config={"size": "tiny", "note": "random init: parity tests only"},
                                metrics={"note": "untrained"}, golden_sources=goldens,
                                max_new_tokens=12, overwrite=True)
    print(f"test bundle {path} (parity max abs diff {parity:.2e})")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: export-test-bundle.py OUT_DIR")
    main(sys.argv[1])
