/** Model-square coordinates → original image pixels (inverse letterbox). */
import { toImagePixels, type Letterbox } from "./preprocess.ts";
import type { PixelBox } from "./types.ts";

/** Two decimals, and never -0 (which would serialise as 0 but compare unequal in tests). */
const round2 = (v: number) => Math.round(v * 100) / 100 + 0;

/** A box in model-input pixels → image pixels, clipped to the image. */
export function modelBoxToImage(lb: Letterbox, x1: number, y1: number, x2: number, y2: number): PixelBox {
  const [a, b] = toImagePixels(lb, x1, y1);
  const [c, d] = toImagePixels(lb, x2, y2);
  return [round2(a), round2(b), round2(c), round2(d)];
}

/** A normalised [0,1] box of the model square (region_boxes) → image pixels. */
export function normBoxToImage(lb: Letterbox, box: ArrayLike<number>, offset = 0): PixelBox {
  const s = lb.size;
  return modelBoxToImage(lb, box[offset]! * s, box[offset + 1]! * s, box[offset + 2]! * s, box[offset + 3]! * s);
}

/** Where the whole model square lies in image pixels (not clipped: includes the padding). */
export function squareExtent(lb: Letterbox): PixelBox {
  const side = lb.size / lb.scale;
  return [round2(-lb.padX), round2(-lb.padY), round2(side - lb.padX), round2(side - lb.padY)];
}

export const boxArea = (b: PixelBox) => Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
