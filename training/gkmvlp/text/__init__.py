"""Report text tools: the rule-based CheXpert-style labeller."""

from .labeller import Mention, extract_mentions, label_report

__all__ = ["label_report", "extract_mentions", "Mention"]
