"""The corpus's text files: manifest.jsonl, reports.jsonl, excluded.jsonl, corpus.json, LICENCES.md.

The .jsonl files are sorted and carry no time or machine detail, so reruns write identical bytes;
corpus.json holds the run's summary (with a timestamp and the manifest's sha256).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from ...ontology import LABELS
from .manifest import SPLITS
from .sources import SOURCES


def _jsonl(path: Path, rows: list[dict]) -> str:
    data = "".join(json.dumps(r, ensure_ascii=True) + "\n" for r in rows).encode()
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _key(row_id: str) -> str:
    return row_id.split(":", 1)[0]


def counts(rows: list[dict]) -> dict:
    """{source key: {split: {"films": n, "labels": {label: {"pos": a, "neg": b}}}}}; unknown labels count
    in neither."""
    out: dict = {}
    for r in rows:
        d = out.setdefault(_key(r["id"]), {s: {"films": 0, "labels": {}} for s in SPLITS})[r["split"]]
        d["films"] += 1
        for lab, v in r["labels"].items():
            c = d["labels"].setdefault(lab, {"pos": 0, "neg": 0})
            c["pos" if v == 1 else "neg"] += 1
    for per in out.values():
        for d in per.values():
            d["labels"] = {k: d["labels"][k] for k in LABELS if k in d["labels"]}
    return dict(sorted(out.items()))


def licences_md(sources: dict, used, catalogue=SOURCES) -> str:
    lines = [
        "# Licences of the real-film corpus",
        "",
        "Assembled by `python -m gkmvlp.cli.assemble_real` from local clones of public repositories. Each",
        "row of manifest.jsonl names its source, commit, path and licence. Evaluation films of the project",
        "(shared/data, and the independent set behind evaluation-dhash.txt) were left out (excluded.jsonl).",
        "Do not commit this folder: several sources allow research use only.",
        "",
    ]
    for src in list(used) + [s for s in catalogue if s not in used]:
        info = sources.get(src.repo, {})
        state = f"commit {info.get('commit') or 'unknown (plain folder)'}" if info.get("found") else "NOT FOUND"
        lines += [
            f"## {src.repo} ({', '.join(src.keys)}; {state})",
            "",
            f"- holds: {src.holds}",
            f"- licence: {src.licence}",
            f"- attribution: {src.attribution}",
            f"- images may be redistributed with attribution: {'yes' if src.redistributable else 'no'}",
            "",
        ]
    return "\n".join(lines)


def write_outputs(
    part: Path,
    rows,
    reports,
    excluded,
    sources: dict,
    used,
    params: dict,
    mask_checks: dict,
    mask_problems: list[str],
    catalogue=SOURCES,
) -> dict:
    rows = sorted(rows, key=lambda r: r["id"])
    reports = sorted(reports, key=lambda r: r["uid"])
    sha = {
        "manifest.jsonl": _jsonl(part / "manifest.jsonl", rows),
        "reports.jsonl": _jsonl(part / "reports.jsonl", reports),
        "excluded.jsonl": _jsonl(part / "excluded.jsonl", excluded),
    }
    by_source: dict = {}
    for e in excluded:
        by_source.setdefault(_key(e["id"]), Counter())[e["reason"]] += 1
    views: dict = {}
    for r in rows:
        views.setdefault(_key(r["id"]), Counter())[r["view"]] += 1
    summary = {
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "films": len(rows),
        "reports": len(reports),
        "sources": sources,
        "found": [k for k, v in sources.items() if v.get("found")],
        "missing": [k for k, v in sources.items() if not v.get("found")],
        "counts": counts(rows),
        "report_splits": dict(Counter(r["split"] for r in reports)),
        "views": {k: dict(sorted(v.items())) for k, v in sorted(views.items())},
        "laterals": {k: v.get("lateral", 0) for k, v in sorted(views.items())},
        "patient_known": {k: sum(1 for r in rows if _key(r["id"]) == k and r["patient_known"]) for k in views},
        "masks": {
            "checks": mask_checks,
            "problems": mask_problems,
            "films_with_masks": dict(Counter(_key(r["id"]) for r in rows if r["masks"])),
        },
        "exclusions": {
            "total": len(excluded),
            "by_reason": dict(Counter(e["reason"] for e in excluded)),
            "by_source": {k: dict(v) for k, v in sorted(by_source.items())},
        },
        "licences": {
            s.repo: {"licence": s.licence, "attribution": s.attribution, "redistributable": s.redistributable}
            for s in used
        },
        "parameters": params,
        "sha256": sha,
    }
    (part / "corpus.json").write_text(json.dumps(summary, indent=1, sort_keys=False) + "\n")
    (part / "LICENCES.md").write_text(licences_md(sources, used, catalogue))
    return summary
