"""GK-MVLP: grounded knowledge-enhanced medical vision-language pre-training for chest X-rays."""

__version__ = "0.1.0"
