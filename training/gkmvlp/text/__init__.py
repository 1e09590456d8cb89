"""Report text tools: the rule-based CheXpert-style labeller."""

from .labeller import label_report, extract_mentions, Mention

__all__ = ["label_report", "extract_mentions", "Mention"]
