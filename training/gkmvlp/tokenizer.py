"""BERT-style WordPiece tokenizer, exactly as docs/contracts/model-bundle.md specifies.

The TypeScript worker reimplements this byte for byte, so every rule here is the contract's rule:
lowercase; every char outside [a-z0-9] and whitespace becomes its own token; greedy
longest-match-first WordPiece with '##' continuations; '[UNK]' for words > 100 chars or without a
match; '[CLS] ... [SEP]' truncated keeping '[SEP]' last, padded with '[PAD]'.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIALS = (PAD, UNK, CLS, SEP, MASK)
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = 0, 1, 2, 3, 4
MAX_WORD_CHARS = 100
_NO_SPACE_BEFORE = {".", ",", ";", ":"}
_SPLIT_RE = re.compile(r"[^a-z0-9\s]")


def basic_split(text: str) -> list[str]:
    """Lowercase, isolate every non-[a-z0-9] non-space char, split on whitespace."""
    text = text.lower()
    text = _SPLIT_RE.sub(lambda m: f" {m.group(0)} ", text)
    return text.split()


class WordPieceTokenizer:
    def __init__(self, vocab: Sequence[str]):
        vocab = list(vocab)
        if tuple(vocab[:5]) != SPECIALS:
            raise ValueError(f"vocab must start with {SPECIALS}, got {vocab[:5]}")
        if len(set(vocab)) != len(vocab):
            dup = [t for t, c in Counter(vocab).items() if c > 1][:5]
            raise ValueError(f"vocab has duplicate tokens, e.g. {dup}")
        self.vocab = vocab
        self.ids = {t: i for i, t in enumerate(vocab)}

    # ----- persistence -------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> WordPieceTokenizer:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"vocab file not found: {path}")
        lines = path.read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines = lines[:-1]
        return cls(lines)

    def save(self, path: str | Path) -> None:
        Path(path).write_text("\n".join(self.vocab) + "\n", encoding="utf-8")

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    # ----- training ----------------------------------------------------------------------------
    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 2000, min_freq: int = 1) -> WordPieceTokenizer:
        """Learn a vocabulary: specials, every seen char (+ '##' form), then whole words by frequency.

        Synthetic and template-like reports have a small closed vocabulary, so whole words cover the
        corpus; the single characters guarantee that any unseen [a-z0-9] word still encodes (as
        pieces) instead of becoming [UNK]. Ties are broken alphabetically so training is
        deterministic.
        """
        words: Counter[str] = Counter()
        for t in texts:
            words.update(w for w in basic_split(t) if len(w) <= MAX_WORD_CHARS)
        chars = sorted(set("abcdefghijklmnopqrstuvwxyz0123456789") | {c for w in words for c in w})
        vocab = list(SPECIALS) + chars + ["##" + c for c in chars if c.isalnum()]
        seen = set(vocab)
        ranked = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))
        for w, n in ranked:
            if len(vocab) >= vocab_size:
                break
            if n >= min_freq and w not in seen:
                vocab.append(w)
                seen.add(w)
        return cls(vocab)

    # ----- encoding ----------------------------------------------------------------------------
    def wordpiece(self, word: str) -> list[int]:
        if len(word) > MAX_WORD_CHARS:
            return [UNK_ID]
        out: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            match = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.ids:
                    match = self.ids[piece]
                    break
                end -= 1
            if match is None:
                return [UNK_ID]
            out.append(match)
            start = end
        return out

    def tokenize(self, text: str) -> list[int]:
        ids: list[int] = []
        for w in basic_split(text):
            ids.extend(self.wordpiece(w))
        return ids

    def encode(self, text: str, max_length: int) -> tuple[list[int], list[int]]:
        """Returns (ids, attention_mask), both exactly max_length long."""
        if max_length < 2:
            raise ValueError("max_length must be >= 2 (room for [CLS] and [SEP])")
        body = self.tokenize(text)[: max_length - 2]
        ids = [CLS_ID] + body + [SEP_ID]
        mask = [1] * len(ids)
        pad = max_length - len(ids)
        return ids + [PAD_ID] * pad, mask + [0] * pad

    def encode_batch(self, texts: Sequence[str], max_length: int):
        import numpy as np

        ids, masks = zip(*(self.encode(t, max_length) for t in texts)) if texts else ((), ())
        return np.asarray(ids, dtype=np.int64).reshape(len(texts), max_length), np.asarray(
            masks, dtype=np.int64
        ).reshape(len(texts), max_length)

    # ----- decoding ----------------------------------------------------------------------------
    def decode(self, ids: Iterable[int]) -> str:
        out = ""
        for i in ids:
            i = int(i)
            if i < 0 or i >= len(self.vocab) or i < len(SPECIALS):
                continue  # specials (and out-of-range ids) are dropped
            tok = self.vocab[i]
            if tok.startswith("##"):
                out += tok[2:]
            elif not out or tok in _NO_SPACE_BEFORE:
                out += tok
            else:
                out += " " + tok
        return out
