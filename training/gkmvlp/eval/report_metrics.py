"""Report-generation metrics through the shared text metrics (gkmvlp.metrics.text_metrics):
corpus BLEU-1..4, ROUGE-L, clinical efficacy P/R/F1 from the rule-based labeller."""

from __future__ import annotations

from ..metrics.text_metrics import report_metrics as _report_metrics


def report_metrics(generated: list[str], references: list[str]) -> dict[str, float]:
    out = _report_metrics(generated, references)
    return {k: float(v) for k, v in out.items() if isinstance(v, (int, float))}
