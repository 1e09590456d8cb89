"""VQA readers, normalised to {"qid", "image", "question", "answer", "answer_type" ("closed" |
"open"), "question_type", ...}.

VQA-RAD (VQA_RAD Dataset Public.json): a list of {"qid", "image_name", "image_organ", "question",
"answer", "answer_type": "CLOSED"|"OPEN", "question_type", "phrase_type", ...}.
SLAKE (train.json / validate.json / test.json): a list of {"qid", "img_id", "img_name", "question",
"answer", "q_lang": "en"|"zh", "location", "modality", "answer_type", "base_type", "content_type", ...}.
NIH-derived sample (/work/shared/data/vqa_derived_from_nih_labels/qa.jsonl): one object per line
with qid, image_path (relative to that folder), image_id, question, answer, answer_type,
question_type — a templated pipeline check, not VQA-RAD/SLAKE.
"""

from __future__ import annotations

from pathlib import Path

from .common import ReaderError, check_file, read_json, read_jsonl, require


def _answer_type(v, where: str) -> str:
    t = str(v).strip().upper()
    if t not in ("CLOSED", "OPEN"):
        raise ReaderError(f"{where}: answer_type must be CLOSED or OPEN, got {v!r}")
    return t.lower()


def _list(path) -> list:
    data = read_json(path)
    if not isinstance(data, list):
        raise ReaderError(f"{path}: expected a JSON list of questions")
    return data


def read_vqa_rad(path, image_root=None) -> list[dict]:
    out = []
    for i, q in enumerate(_list(path)):
        where = f"{path}: item {i}"
        if not isinstance(q, dict):
            raise ReaderError(f"{where}: expected an object")
        require(q, ("image_name", "question", "answer", "answer_type"), where)
        rec = {
            "qid": q.get("qid", i),
            "image_name": q["image_name"],
            "question": str(q["question"]).strip(),
            "answer": str(q["answer"]).strip(),
            "answer_type": _answer_type(q["answer_type"], where),
            "question_type": q.get("question_type"),
            "organ": q.get("image_organ"),
        }
        if image_root is not None:
            rec["image"] = str(check_file(Path(image_root) / q["image_name"], where))
        out.append(rec)
    return out


def read_slake(path, image_root=None, lang: str | None = "en") -> list[dict]:
    out = []
    for i, q in enumerate(_list(path)):
        where = f"{path}: item {i}"
        if not isinstance(q, dict):
            raise ReaderError(f"{where}: expected an object")
        require(q, ("img_name", "question", "answer", "answer_type", "q_lang"), where)
        if lang is not None and q["q_lang"] != lang:
            continue
        rec = {
            "qid": q.get("qid", i),
            "image_name": q["img_name"],
            "question": str(q["question"]).strip(),
            "answer": str(q["answer"]).strip(),
            "answer_type": _answer_type(q["answer_type"], where),
            "question_type": q.get("content_type"),
            "location": q.get("location"),
            "modality": q.get("modality"),
            "lang": q["q_lang"],
        }
        if image_root is not None:
            rec["image"] = str(check_file(Path(image_root) / q["img_name"], where))
        out.append(rec)
    return out


def read_nih_derived_qa(path, check_images: bool = True, missing: str = "error") -> list[dict]:
    """missing="skip" drops questions whose image is not on disk (the shared sample keeps about half
    of the NIH images aside for independent evaluation); the default raises ReaderError."""
    if missing not in ("error", "skip"):
        raise ValueError("missing must be 'error' or 'skip'")
    path = Path(path)
    out = []
    for line, q in read_jsonl(path):
        where = f"{path}:{line}"
        require(q, ("qid", "image_path", "question", "answer", "answer_type", "question_type"), where)
        rec = {
            "qid": q["qid"],
            "image_name": q.get("image_id"),
            "question": q["question"],
            "answer": str(q["answer"]),
            "answer_type": _answer_type(q["answer_type"], where),
            "question_type": q["question_type"],
        }
        img = (path.parent / q["image_path"]).resolve()
        if check_images:
            if missing == "skip" and not img.is_file():
                continue
            check_file(img, where)
        rec["image"] = str(img)
        if "answer_bbox_xywh" in q:
            x, y, w, h = q["answer_bbox_xywh"]
            rec["box"] = [x, y, x + w, y + h]
        out.append(rec)
    return out
