"""A bundle folder's file list: the sha256 of every file the manifest pins, and sealing a finished folder.

Shared by the exporter and by the tools that derive a bundle from an exported one (refit_anatomy, ensemble);
no torch here, so the ONNX-only tools stay light.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_hashes(folder: Path) -> dict[str, str]:
    """The manifest's `files`: every file under `folder` but manifest.json (it cannot list its own hash)."""
    return {
        p.relative_to(folder).as_posix(): sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def seal(tmp: Path, out: Path, manifest: dict) -> None:
    """Pins every file of the finished folder `tmp` in `manifest`, writes it, and renames `tmp` to `out`, so that a
    folder with a manifest.json is always complete."""
    manifest["files"] = file_hashes(tmp)
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    tmp.rename(out)


__all__ = ["sha256", "file_hashes", "seal"]
