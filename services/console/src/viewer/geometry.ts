/** Pure geometry and colour maths for the image viewer (unit-tested without a browser). */

export interface ViewTransform {
  scale: number;
  tx: number;
  ty: number;
}

/** Image-to-canvas transform in CSS pixels: fit the image, then apply zoom and pan. */
export function viewTransform(
  canvasW: number,
  canvasH: number,
  imageW: number,
  imageH: number,
  zoom: number,
  panX: number,
  panY: number,
): ViewTransform {
  const fit = Math.min(canvasW / imageW, canvasH / imageH);
  const scale = fit * zoom;
  return { scale, tx: (canvasW - imageW * scale) / 2 + panX, ty: (canvasH - imageH * scale) / 2 + panY };
}

/**
 * New pan so that the image point under (mx, my) stays under the cursor after zooming to `newZoom`.
 */
export function zoomAround(
  canvasW: number,
  canvasH: number,
  imageW: number,
  imageH: number,
  zoom: number,
  panX: number,
  panY: number,
  newZoom: number,
  mx: number,
  my: number,
): { panX: number; panY: number } {
  const t = viewTransform(canvasW, canvasH, imageW, imageH, zoom, panX, panY);
  const ix = (mx - t.tx) / t.scale;
  const iy = (my - t.ty) / t.scale;
  const nt = viewTransform(canvasW, canvasH, imageW, imageH, newZoom, 0, 0);
  return { panX: mx - ix * nt.scale - nt.tx, panY: my - iy * nt.scale - nt.ty };
}

/**
 * The heatmap grid covers the letterboxed square the model saw: its side is the image's long
 * side and it is centred on the image, so for a portrait image it extends past the left and
 * right edges (the padding). Returned in image pixel coordinates.
 */
export function heatmapRect(imageW: number, imageH: number): { x: number; y: number; size: number } {
  const size = Math.max(imageW, imageH);
  return { x: (imageW - size) / 2, y: (imageH - size) / 2, size };
}

/**
 * Lookup table mapping 8-bit display values through a window (centre, width) to 0..255, with
 * DICOM's linear VOI function (PS3.3 C.11.2.1.2), so centre 128 / width 256 is the identity.
 */
export function windowLut(center: number, width: number): Uint8ClampedArray {
  const lut = new Uint8ClampedArray(256);
  const w = Math.max(2, width);
  for (let v = 0; v < 256; v++) lut[v] = Math.round(((v - (center - 0.5)) / (w - 1) + 0.5) * 255);
  return lut;
}

/** A perceptually ordered blue→cyan→green→yellow→red ramp for heatmaps, t in [0,1]. */
export function heatColor(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t));
  const stops: [number, number, number][] = [
    [0, 0, 180],
    [0, 180, 255],
    [0, 220, 80],
    [255, 230, 0],
    [255, 40, 0],
  ];
  const pos = x * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(pos));
  const f = pos - i;
  const a = stops[i] as [number, number, number];
  const b = stops[i + 1] as [number, number, number];
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

/**
 * RGBA pixels for a heatmap grid. Colour and opacity follow the probability itself (0..1), not a
 * per-map rescaling, so a flat low map looks flat and faint instead of alarming; alpha rises with
 * the value so the anatomy stays readable where the model found little.
 */
export function heatmapPixels(values: number[], width: number, height: number): { data: Uint8ClampedArray<ArrayBuffer>; max: number } {
  if (values.length !== width * height) throw new Error(`heatmap has ${values.length} values for a ${width}×${height} grid`);
  let max = 0;
  for (const v of values) if (v > max) max = v;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < values.length; i++) {
    const t = Math.min(1, Math.max(0, values[i] as number));
    const [r, g, b] = heatColor(t);
    data[i * 4] = r;
    data[i * 4 + 1] = g;
    data[i * 4 + 2] = b;
    data[i * 4 + 3] = Math.round(40 + 150 * t);
  }
  return { data, max };
}
