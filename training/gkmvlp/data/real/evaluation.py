"""Keeping the project's evaluation films (and patients, and report texts) out of the corpus.

The hashes and the 12-bit cut come from shared/tools/near_duplicates.py itself (imported by path, so
a change of the list or the cut there applies here), and the NIH patient ids and IU report ids from the
evaluation samples in shared/data.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from pathlib import Path

from . import images as px

PROJECT = Path(__file__).resolve().parents[4]  # the repository root
DEFAULT_TOOLS = PROJECT.parent / "shared" / "tools"


def load_tool(tools_dir: Path | str | None = None):
    path = Path(tools_dir or DEFAULT_TOOLS) / "near_duplicates.py"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the evaluation-film check is mandatory (pass --tools DIR)")
    spec = importlib.util.spec_from_file_location("near_duplicates", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def eval_nih_patients(shared_data: Path | None) -> set[str]:
    """NIH patient ids of the evaluation films (their names are <patient>_<followup>.png): another film
    of the same patient is not a copy, but training on it would leak the patient into evaluation."""
    found: set[str] = set()
    if shared_data is None or not Path(shared_data).is_dir():
        return found
    for f in sorted(Path(shared_data).rglob("*")):
        if f.suffix in (".csv", ".jsonl", ".txt") and f.is_file() and f.stat().st_size < 50_000_000:
            found.update(re.findall(r"\b(\d{8})_\d{3}\.png", f.read_text(errors="replace")))
    return found


def eval_report_max_uid(shared_data: Path | None) -> int:
    """IU reports up to the largest id of the shared evaluation sample are evaluation text (the sample is
    'the first 100 qualifying reports by id', so any report held aside is in that range too)."""
    p = Path(shared_data or "") / "report_iu_xray_text_only" / "reports_sample100.jsonl"
    if not p.is_file():
        return 0
    return max((int(json.loads(l)["report_id"]) for l in p.read_text().splitlines() if l.strip()), default=0)


class EvalGuard:
    def __init__(self, tools_dir=None, eval_hashes=None, shared_data=None):
        tool = load_tool(tools_dir)
        self.max_bits = int(tool.MAX_BITS)
        self.path = Path(eval_hashes or tool.LIST).resolve()
        self.hex = [f"{h:064x}" for h in tool.load_exclusions(str(self.path))]
        self.table = px.hashes_array([int(h, 16) for h in self.hex])
        shared = Path(shared_data) if shared_data else Path(tools_dir or DEFAULT_TOOLS).parent / "data"
        self.nih_patients = eval_nih_patients(shared)
        self.report_max_uid = eval_report_max_uid(shared)

    def film(self, hashes: list[int], split_key: str, patient: str, patient_known: bool) -> dict | None:
        """None, or the exclusion record's fields for an evaluation copy / an evaluation patient."""
        i, d, h = min((px.nearest(h, self.table) + (h,) for h in hashes), key=lambda t: t[1])
        if d <= self.max_bits:
            return {"reason": "evaluation near-duplicate", "distance": d, "match": self.hex[i], "dhash": f"{h:064x}"}
        if split_key == "nih" and patient_known and patient in self.nih_patients:
            return {"reason": "same NIH patient as an evaluation film", "patient": patient}
        return None

    def report(self, key: str, uid: int) -> dict | None:
        if key == "iu" and uid <= self.report_max_uid:
            return {"reason": "evaluation report (id range of shared/data/report_iu_xray_text_only)"}
        return None

    def params(self) -> dict:
        return {
            "near_duplicate_max_bits": self.max_bits,
            "evaluation_hashes": str(self.path),
            "evaluation_hash_count": len(self.hex),
            "evaluation_hashes_sha256": hashlib.sha256(self.path.read_bytes()).hexdigest(),
            "evaluation_nih_patients": len(self.nih_patients),
            "evaluation_report_max_uid": self.report_max_uid,
        }
