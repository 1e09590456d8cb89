"""Report decoding with the KV-cached step function: greedy and beam search (Python side).

The TypeScript worker reimplements greedy/beam over the exported `report_decoder_step` graph; the
bundle's golden vectors carry a greedy report so both sides can be compared token for token.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..tokenizer import CLS_ID, SEP_ID
from .heads import ReportDecoder


@torch.no_grad()
def greedy(
    decoder: ReportDecoder, memory: Tensor, max_new_tokens: int = 80, bos_id: int = CLS_ID, eos_id: int = SEP_ID
) -> list[list[int]]:
    b = memory.shape[0]
    pk, pv = decoder.empty_cache(b, memory.device)
    tok = torch.full((b, 1), bos_id, dtype=torch.long, device=memory.device)
    out: list[list[int]] = [[] for _ in range(b)]
    done = torch.zeros(b, dtype=torch.bool)
    limit = min(max_new_tokens, decoder.cfg.max_length - 1)
    for t in range(limit):
        pos = torch.full((b,), t, dtype=torch.long, device=memory.device)
        logits, pk, pv = decoder.step(tok, pos, memory, pk, pv)
        nxt = logits.argmax(-1)
        for i in range(b):
            if not done[i]:
                if int(nxt[i]) == eos_id:
                    done[i] = True
                else:
                    out[i].append(int(nxt[i]))
        if bool(done.all()):
            break
        tok = nxt[:, None]
    return out


@torch.no_grad()
def beam_search(
    decoder: ReportDecoder,
    memory: Tensor,
    beam_size: int = 3,
    max_new_tokens: int = 80,
    length_penalty: float = 1.0,
    bos_id: int = CLS_ID,
    eos_id: int = SEP_ID,
) -> list[int]:
    """Beam search for ONE image (memory [1,M,D]); score = sum logprob / len**length_penalty."""
    assert memory.shape[0] == 1, "beam_search decodes one image at a time"
    limit = min(max_new_tokens, decoder.cfg.max_length - 1)
    beams = [([], 0.0)]  # (tokens, logprob)
    pk, pv = decoder.empty_cache(1, memory.device)
    caches = [(pk, pv)]
    finished: list[tuple[list[int], float]] = []
    for t in range(limit):
        n = len(beams)
        toks = torch.tensor([[b[0][-1] if b[0] else bos_id] for b in beams], dtype=torch.long)
        pk = torch.cat([c[0] for c in caches], dim=1)
        pv = torch.cat([c[1] for c in caches], dim=1)
        logits, pk, pv = decoder.step(toks, torch.full((n,), t, dtype=torch.long), memory.expand(n, -1, -1), pk, pv)
        logp = torch.log_softmax(logits, -1)
        cand = []
        for i, (seq, score) in enumerate(beams):
            top = torch.topk(logp[i], beam_size)
            for lp, tok in zip(top.values.tolist(), top.indices.tolist()):
                cand.append((seq + [tok], score + lp, i))
        cand.sort(key=lambda c: -c[1])
        beams, caches = [], []
        for seq, score, i in cand:
            if seq[-1] == eos_id:
                finished.append((seq[:-1], score))
            else:
                beams.append((seq, score))
                caches.append((pk[:, i : i + 1], pv[:, i : i + 1]))
            if len(beams) == beam_size:
                break
        if not beams or len(finished) >= beam_size:
            break
    finished.extend(beams)

    def norm(s):
        return s[1] / max(1, len(s[0]) + 1) ** length_penalty

    return max(finished, key=norm)[0]
