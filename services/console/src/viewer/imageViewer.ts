/**
 * Canvas image viewer: zoom (wheel, buttons, +/- keys), pan (drag, arrow keys), window/level
 * (right-drag or sliders), and overlays for finding boxes, one heatmap and anatomical regions.
 * Region highlighting (from report sentences or findings) is drawn whatever the region toggle says.
 * The canvas's data-* attributes state what was drawn, for assistive tech captions and tests.
 */
import { h } from "../dom.ts";
import type { Box, Heatmap, RegionBox } from "../types.ts";
import { drawBoxes, drawHighlights, drawRegions } from "./draw.ts";
import { heatmapPixels, heatmapRect, viewTransform, windowLut, zoomAround } from "./geometry.ts";

export interface Overlays {
  boxes: (Box & { caption?: string })[];
  heatmaps: Heatmap[];
  regions: RegionBox[];
}
export interface Toggles {
  boxes: boolean;
  heatmap: boolean;
  regions: boolean;
}

const MIN_ZOOM = 0.5;
const MAX_ZOOM = 12;

export class ImageViewer {
  readonly canvas: HTMLCanvasElement;
  readonly caption: HTMLElement;
  private source: HTMLCanvasElement | null = null; // original pixels
  private windowed: HTMLCanvasElement | null = null; // after window/level
  private original: ImageData | null = null;
  private iw = 0;
  private ih = 0;
  private zoom = 1;
  private panX = 0;
  private panY = 0;
  private center = 128;
  private width = 256;
  private overlays: Overlays = { boxes: [], heatmaps: [], regions: [] };
  private heatmapCache = new Map<string, { canvas: HTMLCanvasElement; max: number }>();
  private highlight: string[] = [];
  private frame = 0;
  private resizeObserver: ResizeObserver;
  toggles: Toggles = { boxes: true, heatmap: false, regions: false };
  heatmapLabel: string | null = null;
  onChange: () => void = () => undefined;

  constructor(readonly describe: string) {
    this.canvas = h("canvas", {
      class: "viewer-canvas",
      tabindex: "0",
      role: "img",
      "aria-label": describe,
      "data-testid": "viewer-canvas",
    });
    this.caption = h("p", { class: "viewer-caption muted", "aria-live": "polite" });
    this.bindPointer();
    this.bindKeys();
    this.resizeObserver = new ResizeObserver(() => this.requestDraw());
    this.resizeObserver.observe(this.canvas);
  }

  async setImage(blob: Blob): Promise<void> {
    const bitmap = await createImageBitmap(blob);
    this.iw = bitmap.width;
    this.ih = bitmap.height;
    this.source = document.createElement("canvas");
    this.source.width = this.iw;
    this.source.height = this.ih;
    const sctx = this.source.getContext("2d", { willReadFrequently: true }) as CanvasRenderingContext2D;
    sctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    this.original = sctx.getImageData(0, 0, this.iw, this.ih);
    this.windowed = document.createElement("canvas");
    this.windowed.width = this.iw;
    this.windowed.height = this.ih;
    this.applyWindow();
  }

  get imageSize(): { width: number; height: number } {
    return { width: this.iw, height: this.ih };
  }
  get windowLevel(): { center: number; width: number } {
    return { center: this.center, width: this.width };
  }

  setOverlays(o: Overlays): void {
    this.overlays = o;
    this.heatmapCache.clear();
    if (this.heatmapLabel && !o.heatmaps.some((m) => m.label === this.heatmapLabel)) this.heatmapLabel = null;
    // Default to the map where the model is most confident, not simply the first label.
    this.heatmapLabel ??= [...o.heatmaps].sort((x, y) => Math.max(...y.values) - Math.max(...x.values))[0]?.label ?? null;
    this.requestDraw();
  }

  setHighlight(regions: string[]): void {
    this.highlight = regions;
    this.requestDraw();
  }

  setWindow(center: number, width: number): void {
    this.center = Math.min(255, Math.max(0, center));
    this.width = Math.min(512, Math.max(2, width));
    this.applyWindow();
    this.onChange();
  }

  zoomBy(factor: number, mx?: number, my?: number): void {
    const rect = this.canvas.getBoundingClientRect();
    const newZoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.zoom * factor));
    if (this.iw) {
      const p = zoomAround(
        rect.width,
        rect.height,
        this.iw,
        this.ih,
        this.zoom,
        this.panX,
        this.panY,
        newZoom,
        mx ?? rect.width / 2,
        my ?? rect.height / 2,
      );
      this.panX = p.panX;
      this.panY = p.panY;
    }
    this.zoom = newZoom;
    this.requestDraw();
    this.onChange();
  }

  reset(): void {
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    this.center = 128;
    this.width = 256;
    this.applyWindow();
    this.onChange();
  }

  get zoomLevel(): number {
    return this.zoom;
  }

  dispose(): void {
    this.resizeObserver.disconnect();
    cancelAnimationFrame(this.frame);
  }

  requestDraw(): void {
    cancelAnimationFrame(this.frame);
    this.frame = requestAnimationFrame(() => this.draw());
  }

  private applyWindow(): void {
    if (!this.original || !this.windowed) return;
    const lut = windowLut(this.center, this.width);
    const src = this.original.data;
    const out = new ImageData(this.iw, this.ih);
    const dst = out.data;
    for (let i = 0; i < src.length; i += 4) {
      dst[i] = lut[src[i] as number] as number;
      dst[i + 1] = lut[src[i + 1] as number] as number;
      dst[i + 2] = lut[src[i + 2] as number] as number;
      dst[i + 3] = 255;
    }
    (this.windowed.getContext("2d") as CanvasRenderingContext2D).putImageData(out, 0, 0);
    this.requestDraw();
  }

  private heatmapCanvas(map: Heatmap): { canvas: HTMLCanvasElement; max: number } {
    const cached = this.heatmapCache.get(map.label);
    if (cached) return cached;
    const { data, max } = heatmapPixels(map.values, map.width, map.height);
    const c = document.createElement("canvas");
    c.width = map.width;
    c.height = map.height;
    (c.getContext("2d") as CanvasRenderingContext2D).putImageData(new ImageData(data, map.width, map.height), 0, 0);
    const entry = { canvas: c, max };
    this.heatmapCache.set(map.label, entry);
    return entry;
  }

  private draw(): void {
    const dpr = window.devicePixelRatio || 1;
    const cw = this.canvas.clientWidth;
    const ch = this.canvas.clientHeight;
    if (this.canvas.width !== Math.round(cw * dpr) || this.canvas.height !== Math.round(ch * dpr)) {
      this.canvas.width = Math.round(cw * dpr);
      this.canvas.height = Math.round(ch * dpr);
    }
    const ctx = this.canvas.getContext("2d", { willReadFrequently: true }) as CanvasRenderingContext2D;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    if (!this.windowed || !cw || !ch) return;
    const t = viewTransform(cw, ch, this.iw, this.ih, this.zoom, this.panX, this.panY);
    ctx.setTransform(dpr * t.scale, 0, 0, dpr * t.scale, dpr * t.tx, dpr * t.ty);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(this.windowed, 0, 0);

    const notes: string[] = [];
    const map = this.toggles.heatmap ? this.overlays.heatmaps.find((m) => m.label === this.heatmapLabel) : undefined;
    if (map) {
      const { canvas, max } = this.heatmapCanvas(map);
      const sq = heatmapRect(this.iw, this.ih);
      ctx.save();
      ctx.beginPath();
      ctx.rect(0, 0, this.iw, this.ih); // the letterbox padding is not part of the image
      ctx.clip();
      ctx.drawImage(canvas, sq.x, sq.y, sq.size, sq.size);
      ctx.restore();
      notes.push(`heatmap for ${map.label} (colour = probability, blue 0 to red 1; peak ${(max * 100).toFixed(0)}%)`);
    }
    const regions = this.toggles.regions ? this.overlays.regions : [];
    if (regions.length) {
      drawRegions(ctx, regions, t.scale);
      notes.push(`${regions.length} anatomical regions`);
    }
    const lit = this.overlays.regions.filter((r) => this.highlight.includes(r.region));
    if (lit.length) {
      drawHighlights(ctx, lit, t.scale);
      notes.push(`highlighted: ${lit.map((r) => r.region).join(", ")}`);
    }
    const boxes = this.toggles.boxes ? this.overlays.boxes : [];
    if (boxes.length) {
      drawBoxes(ctx, boxes, t.scale);
      notes.push(`${boxes.length} finding ${boxes.length === 1 ? "box" : "boxes"}`);
    }
    const missing = this.highlight.filter((r) => !lit.some((l) => l.region === r));
    if (missing.length) notes.push(`no box for ${missing.join(", ")}`);

    const d = this.canvas.dataset;
    d.boxes = String(boxes.length);
    d.boxLabels = [...new Set(boxes.map((b) => b.label))].join("|");
    d.regions = String(regions.length);
    d.regionBoxes = String(this.overlays.regions.length); // available for highlighting, drawn or not
    d.heatmap = map?.label ?? "";
    d.highlight = lit.map((r) => r.region).join("|");
    d.transform = JSON.stringify({ scale: t.scale, tx: t.tx, ty: t.ty, dpr });
    this.caption.textContent = `Zoom ${Math.round(this.zoom * 100)}%, window ${Math.round(this.width)} / level ${Math.round(this.center)}. ${
      notes.length ? `Showing ${notes.join("; ")}.` : "No overlays shown."
    }`;
  }

  private bindPointer(): void {
    let drag: { mode: "pan" | "wl"; x: number; y: number; panX: number; panY: number; center: number; width: number } | null = null;
    const c = this.canvas;
    c.addEventListener("contextmenu", (e) => e.preventDefault());
    c.addEventListener("pointerdown", (e) => {
      if (e.button !== 0 && e.button !== 2) return;
      c.setPointerCapture(e.pointerId);
      drag = {
        mode: e.button === 2 || e.shiftKey ? "wl" : "pan",
        x: e.clientX,
        y: e.clientY,
        panX: this.panX,
        panY: this.panY,
        center: this.center,
        width: this.width,
      };
      c.classList.add(drag.mode === "pan" ? "panning" : "windowing");
    });
    c.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (drag.mode === "pan") {
        this.panX = drag.panX + dx;
        this.panY = drag.panY + dy;
        this.requestDraw();
      } else {
        // Conventional mapping: horizontal drag changes the window width, vertical the level.
        this.setWindow(drag.center - dy, drag.width + dx * 2);
      }
    });
    const end = (e: PointerEvent) => {
      if (!drag) return;
      c.releasePointerCapture(e.pointerId);
      c.classList.remove("panning", "windowing");
      drag = null;
      this.onChange();
    };
    c.addEventListener("pointerup", end);
    c.addEventListener("pointercancel", end);
    c.addEventListener(
      "wheel",
      (e) => {
        e.preventDefault();
        const rect = c.getBoundingClientRect();
        this.zoomBy(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - rect.left, e.clientY - rect.top);
      },
      { passive: false },
    );
  }

  private bindKeys(): void {
    this.canvas.addEventListener("keydown", (e) => {
      const step = 40;
      const actions: Record<string, () => void> = {
        "+": () => this.zoomBy(1.25),
        "=": () => this.zoomBy(1.25),
        "-": () => this.zoomBy(0.8),
        "0": () => this.reset(),
        ArrowLeft: () => {
          this.panX += step;
        },
        ArrowRight: () => {
          this.panX -= step;
        },
        ArrowUp: () => {
          this.panY += step;
        },
        ArrowDown: () => {
          this.panY -= step;
        },
      };
      const act = actions[e.key];
      if (!act) return;
      e.preventDefault();
      act();
      this.requestDraw();
    });
  }
}
