"""Assemble the real-film corpus from local clones of the public sources (sources.py) and, when given,
local copies of NIH ChestX-ray14 / CheXpert / MIMIC-CXR-JPG (datasets.py).

Every film is decoded once: hashed (near_duplicates' dHash) against the evaluation hashes and the films
kept so far, then stored as 8-bit grey PNG (long side <= max_side) with its masks. Everything is written
into `<out>.part` and renamed into place at the end, so a failed run leaves the previous corpus intact.
Nothing here reads the clock or the machine except corpus.json's `created`: reruns give identical
manifest.jsonl / reports.jsonl / excluded.jsonl bytes.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ...ontology import LABELS
from . import images as px
from .datasets import DATASETS
from .evaluation import EvalGuard
from .manifest import split_of
from .source_types import Item, Source
from .sources import SOURCES
from .trees import GitTree, Tree, find_tree, open_tree

# Duplicates keep the first film in this order: official label sets first, then sources with patient
# ids and masks, the COVID copies of ieee8023's collection (no patients) last.
KEY_ORDER = (
    "nih14",
    "nih",
    "nih128",
    "nih64",
    "nih256",
    "mimic",
    "chexpert",
    "jsrt",
    "openist",
    "hannover",
    "cxnet",
    "talo-covid",
)
MAX_LISTED = 200  # missing files named in corpus.json per source (all are in excluded.jsonl)


def _scale(msize, orig) -> str:
    """How a mask's size relates to its film's, for the mask checks in corpus.json."""
    if tuple(msize) == tuple(orig):
        return "mask size = film size"
    sx, sy = msize[0] / orig[0], msize[1] / orig[1]
    return f"mask {msize[0]}x{msize[1]} on a {orig[0]}x{orig[1]} film (x{sx:g}, x{sy:g})"


class Assembler:
    def __init__(
        self,
        clones,
        out,
        datasets=None,
        tools_dir=None,
        eval_hashes=None,
        shared_data=None,
        max_side=512,
        dup_bits=None,
        progress=True,
        sources=None,
        exclude_patients=None,
        fixed_split=None,
        extra_params=None,
        second_copies=(),
    ):
        self.clones, self.out = (Path(clones) if clones else None), Path(out)
        # a held-out set (holdout.py): other sources, patients of another corpus's training films left out, and
        # every film in one split
        self.source_list = tuple(SOURCES if sources is None else sources)
        self.exclude_patients = exclude_patients or {}
        self.fixed_split = fixed_split
        # keys whose films are second copies (another pipeline's) of films the corpus keeps from other sources: kept
        # only for patients already among the kept training or validation films, and then even when a (near-)
        # duplicate of that patient's film, which by the split rule lands in the same split
        self.second_copies = frozenset(second_copies)
        self._patient_split: dict[tuple[str, str], str] = {}
        self.extra_params = dict(extra_params or {})
        self.datasets = {k: Path(v) for k, v in (datasets or {}).items() if v}
        unknown = set(self.datasets) - set(DATASETS)
        if unknown:
            raise ValueError(f"unknown datasets {sorted(unknown)} (known: {sorted(DATASETS)})")
        self.part = self.out.with_name(self.out.name + ".part")
        self.guard = EvalGuard(tools_dir, eval_hashes, shared_data)
        # Copies inside the corpus use the evaluation cut too: re-uploaded films in COVID-CXNet measured 1-11
        # bits apart and landed in different splits; distinct films here measured 15 or more.
        self.dup_bits = self.guard.max_bits if dup_bits is None else dup_bits
        self.max_side, self.progress = max_side, progress
        self.rows: list[dict] = []
        self.excluded: list[dict] = []
        self._kept = np.zeros((1024, 32), np.uint8)  # hashes of the kept films, first len(kept_ids) rows
        self.kept_ids: list[str] = []
        self.kept_sha: dict[str, str] = {}
        self._kept_patient: dict[str, tuple[str, str]] = {}
        self.mask_checks: dict[str, Counter] = {}
        self.mask_problems: list[str] = []
        self.sources: dict[str, dict] = {}
        self.used: list[Source] = []

    # ----------------------------------------------------------------------------------------------
    def _exclude(self, it: Item, src: Source, reason: str, **extra) -> None:
        self.excluded.append({"id": it.id, "source": src.repo, "source_path": it.path, "reason": reason, **extra})

    def _missing(self, src: Source, path: str) -> None:
        info = self.sources[src.repo]
        info["missing_count"] = info.get("missing_count", 0) + 1
        if len(info["missing_blobs"]) < MAX_LISTED:
            info["missing_blobs"].append(path)

    def _write(self, rel: str, g) -> None:
        p = self.part / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(px.png_bytes(g))

    def _masks(self, it: Item, src: Source, tree: Tree, size, orig) -> dict:
        """Masks at the stored size, each checked: same aspect as the film, and the patient's right
        structures on the image left (a PA film seen from the front)."""
        out, checks = {}, self.mask_checks.setdefault(it.key, Counter())
        parts: list[tuple[str, np.ndarray]] = []
        if it.both_lungs_mask:
            data = tree.read(it.both_lungs_mask)
            if data is None:
                self.mask_problems.append(f"{it.id}: mask blob missing: {it.both_lungs_mask}")
                self._missing(src, it.both_lungs_mask)
                return out
            m = px.decode(data)
            checks[_scale(m.size, orig)] += 1
            left, right, problem = px.split_lungs(px.binary_mask(m))
            if problem:
                self.mask_problems.append(f"{it.id}: {problem}")
                if "not two lungs" in problem or "empty" in problem:
                    return out
            parts = [("right lung", left), ("left lung", right)]  # image left = patient's right
        for region, path in sorted(it.masks.items()):
            data = tree.read(path)
            if data is None:
                self.mask_problems.append(f"{it.id}: mask blob missing: {path}")
                self._missing(src, path)
                continue
            m = px.decode(data)
            checks[_scale(m.size, orig)] += 1
            parts.append((region, px.binary_mask(m)))
        for region, mask in parts:
            mh, mw = mask.shape
            if abs(mw * orig[1] - mh * orig[0]) > max(orig):  # more than a pixel off the film's aspect
                self.mask_problems.append(f"{it.id}: {region} mask {mw}x{mh} has another aspect than the film {orig}")
                continue
            ys, xs = np.nonzero(mask)
            if len(xs) == 0:
                self.mask_problems.append(f"{it.id}: {region} mask is empty")
                continue
            side = "image left" if xs.mean() < mask.shape[1] / 2 else "image right"
            if region.startswith(("right", "left")):
                checks[f"{region.split()[0]} {region.split()[1]} on the {side}"] += 1
                if region.startswith("right") != (side == "image left"):
                    self.mask_problems.append(f"{it.id}: {region} mask lies on the {side}")
                    continue
            rel = f"masks/{it.key}/{it.name}_{region.replace(' ', '_')}.png"
            self._write(rel, px.mask_to_size(mask, size))
            out[region] = rel
        return out

    def _film(self, it: Item, src: Source, tree: Tree, data: bytes | None) -> None:
        if data is None:
            self._exclude(it, src, "missing file (absent from the snapshot or download)")
            self._missing(src, it.path)
            return
        sha = hashlib.sha256(data).hexdigest()
        try:
            im = px.decode(data)
            hashes = px.hash_variants(im)
        except (px.DecodeError, OSError, ValueError) as e:
            self._exclude(it, src, f"undecodable: {e}")
            return
        split_key = it.split_key or it.key
        hit = self.guard.film(hashes, split_key, it.patient, it.patient_known)
        if hit:
            self._exclude(it, src, **hit)
            return
        if it.patient_known and it.patient in self.exclude_patients.get(split_key, ()):
            self._exclude(it, src, "patient among the training or validation films of the corpus held out from")
            return
        h = hashes[0]
        j, d = px.nearest(h, self._kept[: len(self.kept_ids)])
        # the kept film this one copies, byte for byte or within dup_bits; None when it is a film of its own
        dup_of = self.kept_sha.get(sha) or (self.kept_ids[j] if d <= self.dup_bits else None)
        copy_of = None
        if it.key in self.second_copies:
            if not it.patient_known or self._patient_split.get((split_key, it.patient)) not in ("train", "val"):
                self._exclude(it, src, "second copy whose patient has no training or validation film in the corpus")
                return
            if dup_of is not None and self._kept_patient[dup_of] == (split_key, it.patient):
                copy_of = dup_of  # kept: the same patient's film through another pipeline
        if dup_of is not None and copy_of is None:
            d = 0 if sha in self.kept_sha else d
            self._exclude(
                it,
                src,
                "duplicate within the corpus" if d == 0 else "near-duplicate within the corpus",
                distance=d,
                match=dup_of,
            )
            return
        size = px.stored_size(*im.size, self.max_side)
        rel = f"images/{it.key}/{it.name}.png"
        self._write(rel, px.shrink(px.to_grey8(im), size))
        masks = self._masks(it, src, tree, size, im.size) if (it.masks or it.both_lungs_mask) else {}
        row = {
            "id": it.id,
            "source": src.repo,
            "source_commit": tree.commit,
            "source_path": it.path,
            "source_sha256": sha,
            "image": rel,
            "width": size[0],
            "height": size[1],
            "orig_width": im.size[0],
            "orig_height": im.size[1],
            "patient": it.patient,
            "patient_known": it.patient_known,
            "split": self.fixed_split or split_of(split_key, it.patient),
            "view": it.view,
            "frontal": it.frontal,
            "labels": {k: it.labels[k] for k in LABELS if k in it.labels},
            "masks": masks,
            "licence": src.licence,
            "dhash": f"{h:064x}",
        }
        if it.diagnosis:
            row["diagnosis"] = it.diagnosis
        if it.note:
            row["note"] = it.note
        if copy_of:
            row["copy_of"] = copy_of
        self.rows.append(row)
        if it.patient_known:
            self._patient_split[(split_key, it.patient)] = row["split"]
        self._kept_patient[it.id] = (split_key, it.patient)
        if len(self.kept_ids) == len(self._kept):  # grow by doubling: one copy per doubling, not per film
            self._kept = np.concatenate([self._kept, np.zeros_like(self._kept)])
        self._kept[len(self.kept_ids)] = px.hashes_array([h])[0]
        self.kept_ids.append(it.id)
        self.kept_sha[sha] = it.id

    # ----------------------------------------------------------------------------------------------
    def _reports(self, src: Source, tree: Tree) -> list[dict]:
        out = []
        for r in src.reports(tree):
            key = r["id"].split(":", 1)[0]
            hit = self.guard.report(key, r["uid"])
            if hit:
                self.excluded.append({"id": r["id"], "source": src.repo, "source_path": src.metadata[0], **hit})
                continue
            patient = r.pop("patient", None)  # MIMIC: split by subject, as its films are
            out.append(
                {
                    "id": r["id"],
                    "uid": r["uid"],
                    "split": split_of(key, patient or str(r["uid"])),
                    **{k: v for k, v in r.items() if k not in ("id", "uid")},
                }
            )
        return out

    def _candidates(self) -> list[tuple[Source, Tree | None, str]]:
        """(source, tree or None, how it was looked for): every clone source, then the datasets given."""
        out = []
        for src in self.source_list if self.clones else ():
            at = f" with commit {src.commit}" if src.commit else ""
            out.append(
                (
                    src,
                    find_tree(self.clones, src.repo, src.commit),
                    f"not found{at} under {self.clones} (<owner>+<name>/repo, <owner>/<name> or <name>)",
                )
            )
        for key, folder in sorted(self.datasets.items()):
            out.append((DATASETS[key], open_tree(folder), f"{folder} is not a folder with files"))
        return out

    def _open_sources(self) -> tuple[dict, list, list]:
        trees, items, reports = {}, [], []
        for src, tree, problem in self._candidates():
            info: dict = {"found": tree is not None, "keys": list(src.keys)}
            self.sources[src.repo] = info
            if tree is None:
                info["problem"] = problem
                continue
            trees[src.repo] = tree
            self.used.append(src)
            info.update(location=str(tree.location), kind=tree.kind, commit=tree.commit, missing_blobs=[])
            if isinstance(tree, GitTree):
                info["blobs_absent_from_snapshot"] = tree.absent_count()
            for m in src.metadata:
                if tree.read(m) is None:
                    self._missing(src, m)
            if src.items:
                found = src.items(tree)
                info["candidates"] = len(found)
                items += [(src, it) for it in found]
            if src.reports:
                found = self._reports(src, tree)
                info["reports"] = len(found)
                reports += found
        # label files of other sources' films (NIH's Data_Entry): full labels replace folder labels where listed
        for src in self.used:
            if not src.labels:
                continue
            table = src.labels(trees[src.repo])
            hits = 0
            for _, it in items:
                if it.key in src.labels_for and it.name in table:
                    it.labels = dict(table[it.name])
                    hits += 1
            self.sources[src.repo].update(label_rows=len(table), films_relabelled=hits)
            if src.views:
                views, seen = src.views(trees[src.repo]), 0
                for _, it in items:
                    if it.key in src.labels_for and it.view == "unknown" and it.name in views:
                        it.view = views[it.name]
                        seen += 1
                self.sources[src.repo].update(films_with_view=seen)
        return trees, items, reports

    def run(self) -> dict:
        t0 = time.time()
        if self.part.exists():
            shutil.rmtree(self.part)
        self.part.mkdir(parents=True)
        trees, items, reports = self._open_sources()
        items.sort(key=lambda t: (KEY_ORDER.index(t[1].key), t[1].name, t[1].path))
        seen: set[str] = set()
        for _, it in items:  # same stem, other extension: keep both, told apart by extension
            if it.id in seen:
                it.name = f"{it.name}_{it.path.rsplit('.', 1)[-1].lower()}"
            seen.add(it.id)
        try:
            bar = tqdm(items, desc="films", unit="film", mininterval=2, disable=not self.progress)
            for src, it in bar:
                bar.set_postfix_str(it.key, refresh=False)
                tree = trees[src.repo]
                self._film(it, src, tree, tree.read(it.path))
        finally:
            for t in trees.values():
                t.close()
        kept = Counter(r["source"] for r in self.rows)
        for src in self.used:
            if src.items:
                self.sources[src.repo]["kept"] = kept.get(src.repo, 0)
        if not any(info.get("kept") or info.get("reports") for info in self.sources.values()):
            shutil.rmtree(self.part)
            where = ", ".join(str(p) for p in [self.clones, *self.datasets.values()] if p)
            raise FileNotFoundError(
                f"no usable source in {where}: "
                + "; ".join(f"{k}: {v.get('problem', 'nothing kept')}" for k, v in self.sources.items())
            )
        from .outputs import write_outputs

        params = {
            "clones": str(self.clones) if self.clones else None,
            "datasets": {k: str(v) for k, v in sorted(self.datasets.items())},
            "max_side": self.max_side,
            "dup_bits": self.dup_bits,
            **self.guard.params(),
            "split_rule": f"every film: {self.fixed_split}"
            if self.fixed_split
            else "sha256('<source key>:<patient>')[:8] / 2**64: < 0.70 train, < 0.85 val, else test",
            **({"second_copies": sorted(self.second_copies)} if self.second_copies else {}),
            **self.extra_params,
        }
        summary = write_outputs(
            self.part,
            self.rows,
            reports,
            self.excluded,
            self.sources,
            self.used,
            params,
            {k: dict(v) for k, v in self.mask_checks.items()},
            self.mask_problems,
            self.source_list,
        )
        if self.out.exists():  # swap in the new corpus, then drop the old one
            old = self.out.with_name(self.out.name + ".old")
            if old.exists():
                shutil.rmtree(old)
            self.out.rename(old)
            self.part.rename(self.out)
            shutil.rmtree(old)
        else:
            self.part.rename(self.out)
        summary["seconds"] = round(time.time() - t0, 1)
        return summary


def assemble(clones, out, **kw) -> dict:
    """Build the corpus in `out` (see Assembler); returns corpus.json's content plus `seconds`."""
    return Assembler(clones, out, **kw).run()
