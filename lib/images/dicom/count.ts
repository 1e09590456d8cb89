import { ImageError } from "../errors.ts";
import { LONG_VRS } from "./rewrite.ts";

/**
 * Element, item and fragment headers a DICOM data set may hold. dicom-parser turns every one into JS objects
 * (about 240 bytes each): 8 MB of empty elements became 240 MB of heap, and a single big allocation near a
 * worker thread's heap cap makes V8 abort the whole process instead of stopping the thread. Real radiographs
 * have hundreds of elements; enhanced multi-frame objects tens of thousands.
 */
export const MAX_DICOM_HEADERS = 200_000;

const ITEM = 0xfffee000;
const ITEM_END = 0xfffee00d;
const SEQUENCE_END = 0xfffee0dd;
const PIXEL_DATA = 0x7fe00010;
const UNDEFINED = 0xffffffff;
const MAX_DEPTH = 64;

interface Frame {
  end: number;
  explicit: boolean;
  little: boolean;
}

/**
 * Counts headers with a flat scan that allocates nothing per element (a small stack per nesting level) and
 * refuses above `max`. It never refuses anything else: where the data looks wrong it stops counting and leaves
 * the judgement to the parser.
 */
export function checkHeaderCount(
  bytes: Uint8Array,
  start: number,
  enc: { explicit: boolean; little: boolean },
  max = MAX_DICOM_HEADERS,
): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: Frame[] = [{ end: bytes.length, ...enc }];
  let pos = start;
  let count = 0;
  const tagAt = (at: number, little: boolean) => ((view.getUint16(at, little) << 16) | view.getUint16(at + 2, little)) >>> 0;
  while (stack.length) {
    const frame = stack[stack.length - 1]!;
    if (pos + 8 > frame.end) {
      if (stack.length === 1) return;
      stack.pop(); // a defined-length sequence or item ended
      continue;
    }
    if (++count > max) {
      throw new ImageError("HEADER_TOO_LARGE", `The DICOM header holds more than ${max} elements; a radiograph needs a few hundred.`, {
        maxElements: max,
      });
    }
    const tag = tagAt(pos, frame.little);
    if (tag === ITEM_END || tag === SEQUENCE_END) {
      pos += 8;
      if (stack.length > 1 && frame.end === bytes.length) stack.pop(); // closes an undefined-length item or sequence
      continue;
    }
    const length = view.getUint32(pos + 4, frame.little);
    if (tag === ITEM) {
      // An item holds elements: scan into it (its elements follow inline).
      if (stack.length >= MAX_DEPTH) return;
      stack.push({ ...frame, end: length === UNDEFINED ? bytes.length : Math.min(frame.end, pos + 8 + length) });
      pos += 8;
      continue;
    }
    let valueLength: number;
    let valueStart: number;
    let vr: string | undefined;
    if (frame.explicit) {
      vr = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!);
      if (!/^[A-Z]{2}$/.test(vr)) return;
      if (LONG_VRS.has(vr)) {
        if (pos + 12 > frame.end) return;
        valueLength = view.getUint32(pos + 8, frame.little);
        valueStart = pos + 12;
      } else {
        valueLength = view.getUint16(pos + 6, frame.little);
        valueStart = pos + 8;
      }
    } else {
      valueLength = length;
      valueStart = pos + 8;
    }
    if (valueLength === UNDEFINED && tag === PIXEL_DATA) {
      // Fragments: count each, skip its bytes.
      let at = valueStart;
      while (at + 8 <= frame.end && tagAt(at, frame.little) === ITEM) {
        if (++count > max)
          throw new ImageError("HEADER_TOO_LARGE", `The DICOM pixel data holds more than ${max} fragments.`, { maxElements: max });
        at += 8 + view.getUint32(at + 4, frame.little);
      }
      pos = at + 8; // the sequence delimiter
      continue;
    }
    const un = vr === "UN";
    const itemEnc = un ? { explicit: false, little: true } : { explicit: frame.explicit, little: frame.little };
    const opensItems = valueStart + 8 <= frame.end && tagAt(valueStart, itemEnc.little) === ITEM;
    if (valueLength === UNDEFINED || vr === "SQ" || ((vr === undefined || un) && opensItems)) {
      if (stack.length >= MAX_DEPTH) return;
      stack.push({ ...itemEnc, end: valueLength === UNDEFINED ? bytes.length : Math.min(frame.end, valueStart + valueLength) });
      pos = valueStart;
      continue;
    }
    pos = valueStart + valueLength;
  }
}
