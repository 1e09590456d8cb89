"""A held-out pneumonia-vs-normal set of NIH films that the training corpus never saw (python -m
gkmvlp.cli.assemble_holdout).

The corpus's own NIH pneumonia test films number 132 and had been looked at twenty times by the time this set was
built. SIMHADRI29/Chest-Disease-Detection holds 202 NIH films in Dataset/Pneumonia and 500 in Dataset/Normal, all
as 256 x 256 copies made the same way, so neither class carries a source or processing cue the other lacks. Kept:
every such film whose patient is not among the corpus's training or validation films (most pneumonia patients are
new to the corpus; the normal films are copies of films whose patients are in its test split). Every film is in
split "test"; the evaluation near-duplicate guard applies as in the corpus. Labels: NIH's Data_Entry (qqto2008,
first 40,000 rows) where it lists the film, else the folder's.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from .source_readers import NIH_NAME
from .source_types import NIH_PNEUMONIA, NORMAL, Item, Source, _images_under, _stem, nih_copy
from .sources import NIH_COPY_KEYS, NIH_LICENCE, SOURCES
from .trees import Tree

HOLDOUT_KEY = "nih256"
SIMHADRI_FOLDERS = (("Dataset/Pneumonia", NIH_PNEUMONIA), ("Dataset/Normal", NORMAL))
# testImages/ is left out: its Normal folder holds films NIH labels otherwise, its Pneumonia folder mixes in
# pediatric films of another collection


def simhadri_items(tree: Tree) -> list[Item]:
    out = []
    for folder, labels in SIMHADRI_FOLDERS:
        for p in _images_under(tree, folder):
            stem = _stem(p)
            m = NIH_NAME.match(stem)
            if m:
                out.append(nih_copy(HOLDOUT_KEY, stem, p, m.group(1), labels, "256 x 256 copy"))
    return out


SIMHADRI = Source(
    "SIMHADRI29/Chest-Disease-Detection",
    (HOLDOUT_KEY,),
    "NIH ChestX-ray14 films as 256 x 256 copies: 202 'Pneumonia', 500 'Normal' (folders)",
    NIH_LICENCE + ". The repository states no licence of its own",
    "Wang et al., ChestX-ray8, CVPR 2017 (NIH Clinical Center); copies by SIMHADRI29",
    False,
    items=simhadri_items,
)
NIH_LABELS = next(s for s in SOURCES if s.labels is not None)
HOLDOUT_SOURCES = (SIMHADRI, replace(NIH_LABELS, labels_for=(HOLDOUT_KEY,)))
NIH_KEYS = (*NIH_COPY_KEYS, HOLDOUT_KEY)  # one patient namespace ("nih")
# The training corpus plus SIMHADRI29's copies of its own NIH training and validation films (assemble_real
# --second-copies): the same films through a second pipeline, pneumonia and normal films alike, so that the one
# selection's processing (muhammedtalo's pneumonia films are darker and grainier than its normals) is not all the
# pneumonia label is learned from. Films of other patients stay out: they are the held-out set's.
SECOND_COPY_SOURCES = (
    *(replace(s, labels_for=(*s.labels_for, HOLDOUT_KEY)) if s is NIH_LABELS else s for s in SOURCES),
    SIMHADRI,
)


def seen_patients(corpus: Path | str, splits: tuple[str, ...] = ("train", "val")) -> dict[str, set[str]]:
    """{split key: patients} of the corpus's films in `splits` (NIH copies share the key "nih")."""
    out: dict[str, set[str]] = {}
    with open(Path(corpus) / "manifest.jsonl", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["split"] in splits and r["patient_known"]:
                key = r["id"].split(":", 1)[0]
                out.setdefault("nih" if key in NIH_KEYS else key, set()).add(r["patient"])
    return out


def assemble_holdout(clones, corpus, out, **kw) -> dict:
    """Build the held-out set in `out` against the training corpus `corpus`; corpus.json's content + `seconds`."""
    import hashlib

    from .assemble import Assembler

    exclude = seen_patients(corpus)
    sha = hashlib.sha256((Path(corpus) / "manifest.jsonl").read_bytes()).hexdigest()
    held = {
        "held_out_of": {
            "corpus": str(Path(corpus).resolve()),
            "manifest_sha256": sha,
            "patients_left_out": {k: len(v) for k, v in sorted(exclude.items())},
        }
    }
    return Assembler(
        clones, out, sources=HOLDOUT_SOURCES, exclude_patients=exclude, fixed_split="test", extra_params=held, **kw
    ).run()
