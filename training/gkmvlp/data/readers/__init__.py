"""Readers of the real public formats. Each returns plain dicts and raises ReaderError naming the
file and row for malformed input or missing files."""

from .common import ReaderError

__all__ = ["ReaderError"]
