/** Draws overlays in image pixel coordinates onto a context that already carries the view transform. */
import type { Box, RegionBox } from "../types.ts";

export function drawRegions(ctx: CanvasRenderingContext2D, regions: RegionBox[], scale: number): void {
  ctx.save();
  ctx.setLineDash([6 / scale, 4 / scale]);
  ctx.lineWidth = 1.5 / scale;
  ctx.strokeStyle = "rgba(90, 200, 250, 0.9)";
  ctx.fillStyle = "rgba(90, 200, 250, 0.95)";
  ctx.font = `${11 / scale}px system-ui, sans-serif`;
  for (const r of regions) {
    ctx.strokeRect(r.x1, r.y1, r.x2 - r.x1, r.y2 - r.y1);
    ctx.fillText(r.region, r.x1 + 3 / scale, r.y1 + 12 / scale);
  }
  ctx.restore();
}

export function drawHighlights(ctx: CanvasRenderingContext2D, regions: RegionBox[], scale: number): void {
  ctx.save();
  ctx.lineWidth = 3 / scale;
  ctx.strokeStyle = "rgb(255, 214, 0)";
  ctx.fillStyle = "rgba(255, 214, 0, 0.28)";
  for (const r of regions) {
    ctx.fillRect(r.x1, r.y1, r.x2 - r.x1, r.y2 - r.y1);
    ctx.strokeRect(r.x1, r.y1, r.x2 - r.x1, r.y2 - r.y1);
  }
  ctx.font = `bold ${13 / scale}px system-ui, sans-serif`;
  for (const r of regions) label(ctx, r.region, r.x1, r.y2, scale, "rgb(255, 214, 0)", "#111");
  ctx.restore();
}

export function drawBoxes(ctx: CanvasRenderingContext2D, boxes: (Box & { caption?: string })[], scale: number): void {
  ctx.save();
  ctx.lineWidth = 2.5 / scale;
  ctx.strokeStyle = "rgb(255, 70, 70)";
  ctx.font = `bold ${12 / scale}px system-ui, sans-serif`;
  for (const b of boxes) {
    ctx.strokeRect(b.x1, b.y1, b.x2 - b.x1, b.y2 - b.y1);
    label(ctx, b.caption ?? `${b.label} (heatmap peak ${b.score.toFixed(2)})`, b.x1, b.y1 - 16 / scale, scale, "rgb(255, 70, 70)", "#fff");
  }
  ctx.restore();
}

function label(ctx: CanvasRenderingContext2D, text: string, x: number, y: number, scale: number, bg: string, fg: string): void {
  const pad = 3 / scale;
  const w = ctx.measureText(text).width + pad * 2;
  const hgt = 16 / scale;
  ctx.fillStyle = bg;
  ctx.fillRect(x, y, w, hgt);
  ctx.fillStyle = fg;
  ctx.fillText(text, x + pad, y + hgt - 4 / scale);
}
