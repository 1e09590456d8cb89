"""Per-label real-film figures for a bundle's manifest (`reliability.real_metrics`), from real_eval's metrics.json.

The platform shows these to every reader of the model card, beside the label-shuffled baseline, so that
"validated on real films" always comes with how well, on which films and how many. Each label's main entry is its
figure on the largest set that has it: a task-specific corpus test set (pneumonia vs normal, JSRT nodules), else
the corpus's NIH test films, else the NIH evaluation sample in shared/data; its figures on the other sets follow in
`other_sets` (same fields), so a figure from one selection of films never stands alone. The held-out NIH pneumonia
set (holdout_eval --stamp) is one of them; restamping keeps figures it does not recompute.
"""

from __future__ import annotations

import json
from pathlib import Path

CORPUS_SETS = {
    "pneumonia_vs_normal_nih": (
        "Pneumonia",
        "NIH ChestX-ray14 patient-split test films: pneumonia vs no finding, from one selection "
        "(muhammedtalo/COVID-19, the source of nearly all training pneumonia labels)",
    ),
    "nodule_jsrt": ("Lung Lesion", "JSRT patient-split test films: nodule vs none"),
}
NIH_DEV_SET = "NIH ChestX-ray14 evaluation sample (project evaluation data, never trained on)"
NIH_TEST_SET = "NIH ChestX-ray14 patient-split test films of the corpus (NIH's text-mined labels)"
HOLDOUT_SET = (
    "NIH ChestX-ray14 films of another selection (256 px copies, both classes stored alike; patients of the "
    "training films left out): pneumonia vs no finding"
)


def _entry(fig: dict, set_name: str) -> dict | None:
    if fig.get("auc") is None:
        return None
    out = {"auc": float(fig["auc"]), "set": set_name}
    for key in ("ci_low", "ci_high", "perm_p"):
        if fig.get(key) is not None:
            out[key] = float(fig[key])
    for key in ("n_pos", "n_neg"):
        if fig.get(key) is not None:
            out[key] = int(fig[key])
    if fig.get("shuffled_labels_auc") is not None:
        out["baseline_auc"] = float(fig["shuffled_labels_auc"])
    return out


def manifest_real_metrics(metrics: dict) -> dict:
    """label -> {auc, ci_low, ci_high, n_pos, n_neg, perm_p, baseline_auc, set, other_sets?}."""
    per_set: dict[str, list[dict]] = {}
    for key, (label, set_name) in CORPUS_SETS.items():
        entry = _entry((metrics.get("corpus_test") or {}).get(key) or {}, set_name)
        if entry:
            per_set.setdefault(label, []).append(entry)
    nih_test = ((metrics.get("corpus_heldout") or {}).get("nih_test") or {}).get("per_label") or {}
    nih_dev = (metrics.get("nih_dev") or {}).get("per_label") or {}
    for figures, set_name in ((nih_test, NIH_TEST_SET), (nih_dev, NIH_DEV_SET)):
        for label, fig in figures.items():
            entry = _entry(fig, set_name)
            if entry:
                per_set.setdefault(label, []).append(entry)
    out: dict = {}
    for label, entries in sorted(per_set.items()):
        out[label] = dict(entries[0])
        if entries[1:]:
            out[label]["other_sets"] = entries[1:]
    return out


def _write_manifest(path: Path, text: str, manifest: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + ("\n" if text.endswith("\n") else ""))
    tmp.replace(path)


def _reliability(path: Path) -> tuple[str, dict]:
    text = path.read_text()
    manifest = json.loads(text)
    if "reliability" not in manifest:
        raise ValueError(f"{path} has no reliability section (format version 2): nothing to stamp")
    return text, manifest


def stamp_manifest(bundle: Path, metrics: dict) -> dict:
    """Writes the figures into bundle/manifest.json's reliability section, keeping the `other_sets` figures that
    these metrics do not recompute (the held-out set's); returns them."""
    path = bundle / "manifest.json"
    text, manifest = _reliability(path)
    old = manifest["reliability"].get("real_metrics") or {}
    figures = manifest_real_metrics(metrics)
    for label, entry in figures.items():
        fresh = {entry["set"], *(e["set"] for e in entry.get("other_sets", []))}
        kept = [e for e in (old.get(label) or {}).get("other_sets", []) if e.get("set") not in fresh]
        if kept:
            entry["other_sets"] = [*entry.get("other_sets", []), *kept]
    manifest["reliability"]["real_metrics"] = figures
    _write_manifest(path, text, manifest)
    return figures


def stamp_other_set(bundle: Path, label: str, fig: dict, set_name: str) -> dict:
    """Adds (or replaces, by set name) one measurement of `label` on another set to its real_metrics entry; the
    label's main entry must be there already (real_eval --stamp). Returns the label's entry."""
    path = bundle / "manifest.json"
    text, manifest = _reliability(path)
    entry = (manifest["reliability"].get("real_metrics") or {}).get(label)
    if not entry:
        raise ValueError(f"{path}: no real_metrics entry for {label} (stamp real_eval's figures first)")
    new = _entry(fig, set_name)
    if new is None:
        raise ValueError(f"no AUC to stamp for {label} on {set_name}")
    entry["other_sets"] = [e for e in entry.get("other_sets", []) if e.get("set") != set_name] + [new]
    _write_manifest(path, text, manifest)
    return entry
