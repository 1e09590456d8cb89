"""Preview grids of a generated set: images with region boxes, and with finding boxes + names."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

COLORS = [(255, 80, 80), (80, 200, 255), (255, 220, 60), (120, 255, 120), (255, 120, 255), (255, 160, 60)]
SHOWN_REGIONS = (
    "right lung",
    "left lung",
    "cardiac silhouette",
    "mediastinum",
    "trachea",
    "right costophrenic angle",
    "left costophrenic angle",
    "right clavicle",
    "left clavicle",
    "right hilar structures",
    "left hilar structures",
    "abdomen",
)


def _tile(root: Path, rec: dict, mode: str, scale: int) -> Image.Image:
    im = Image.open(root / rec["image"]).convert("RGB")
    im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    d = ImageDraw.Draw(im)
    if mode == "regions":
        for i, name in enumerate(SHOWN_REGIONS):
            b = rec["regions"].get(name)
            if b:
                d.rectangle([v * scale for v in b], outline=COLORS[i % len(COLORS)])
        d.text((4, 4), f"{rec['id']} {rec['view']}", fill=(255, 255, 0))
    else:
        y = 4
        for i, f in enumerate(rec["findings"]):
            c = COLORS[i % len(COLORS)]
            d.rectangle([v * scale for v in f["box"]], outline=c, width=2)
            side = "" if f["side"] == "none" else f" {f['side']}"
            d.text((4, y), f"{f['label']}{side} {f['severity']}", fill=c)
            y += 11
        if not rec["findings"]:
            d.text((4, 4), "No Finding", fill=(120, 255, 120))
    return im


def write_previews(root, records: list[dict], out_dir, n: int = 16, cols: int = 4) -> list[Path]:
    """Writes regions.png and findings.png grids (and raw.png without overlays)."""
    root, out_dir = Path(root), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    recs = records[:n]
    if not recs:
        return []
    scale = 2 if recs[0]["width"] <= 256 else 1
    paths = []
    for mode in ("raw", "regions", "findings"):
        tiles = [
            _tile(root, r, mode, scale)
            if mode != "raw"
            else Image.open(root / r["image"]).convert("RGB").resize((r["width"] * scale, r["height"] * scale))
            for r in recs
        ]
        w, h = tiles[0].size
        rows = (len(tiles) + cols - 1) // cols
        grid = Image.new("RGB", (w * cols, h * rows))
        for i, t in enumerate(tiles):
            grid.paste(t, ((i % cols) * w, (i // cols) * h))
        p = out_dir / f"{mode}.png"
        grid.save(p)
        paths.append(p)
    return paths
