/** Small pixel helpers shared by the decoders. */

/** ITU-R BT.601 luma, the weights the brief fixes: 0.299 R + 0.587 G + 0.114 B. */
export function rgbToGray<T extends Uint8Array | Uint16Array>(
  src: ArrayLike<number>,
  pixelCount: number,
  channels: number,
  out: T,
  grayInput: boolean,
): T {
  if (grayInput) {
    for (let i = 0, j = 0; i < pixelCount; i++, j += channels) out[i] = src[j]!;
    return out;
  }
  for (let i = 0, j = 0; i < pixelCount; i++, j += channels) {
    out[i] = Math.round(0.299 * src[j]! + 0.587 * src[j + 1]! + 0.114 * src[j + 2]!);
  }
  return out;
}

/** 16-bit → 8-bit by the full-range rule every PNG viewer uses (v · 255 / 65535). */
export function scale16To8(src: Uint16Array): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = Math.round((src[i]! * 255) / 65535);
  return out;
}
