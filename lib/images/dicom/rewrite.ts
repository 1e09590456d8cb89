import { ImageError } from "../errors.ts";

/**
 * A byte-exact DICOM element walker and writer, for de-identification. dicom-parser (used to decode) does not
 * say where an element's header starts and reports undefined lengths inconsistently, so a copy made from it
 * could not guarantee that untouched elements, pixel data above all, come out byte for byte. This walker keeps
 * [start, end) of every element and item; the writer copies untouched elements verbatim, re-encodes only what
 * changed, and always writes sequences and items with defined lengths (recomputed after their contents).
 */
export interface Encoding {
  explicit: boolean;
  little: boolean;
}

export const IMPLICIT_LE: Encoding = { explicit: false, little: true };
export const EXPLICIT_LE: Encoding = { explicit: true, little: true };

export interface RawElement {
  /** (group << 16 | element) as an unsigned number */
  tag: number;
  /** the explicit VR, or undefined in implicit VR data */
  vr: string | undefined;
  start: number;
  valueStart: number;
  end: number;
  /** items of a sequence (SQ, an undefined-length UN, or an implicit-VR value that is a sequence) */
  items?: RawElement[][];
  /** how the items are encoded: the data set's encoding, except implicit VR LE inside a UN (PS3.5 6.2.2) */
  itemEncoding?: Encoding;
}

export const LONG_VRS = new Set(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]);
const ITEM = 0xfffee000;
const ITEM_END = 0xfffee00d;
const SEQUENCE_END = 0xfffee0dd;
const PIXEL_DATA = 0x7fe00010;
const TRAILING_PADDING = 0xfffcfffc;
const UNDEFINED = 0xffffffff;

function corrupt(message: string): ImageError {
  return new ImageError("CORRUPT_IMAGE", `The DICOM file could not be de-identified: ${message}`);
}

export function hex(tag: number): string {
  return `${(tag >>> 16).toString(16).padStart(4, "0")},${(tag & 0xffff).toString(16).padStart(4, "0")}`.toUpperCase();
}

export class ElementReader {
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(pos: number, n: number, limit: number): void {
    if (pos + n > limit) throw corrupt(`an element at byte ${pos} runs past the end of its data.`);
  }

  tagAt(pos: number, little: boolean): number {
    return ((this.view.getUint16(pos, little) << 16) | this.view.getUint16(pos + 2, little)) >>> 0;
  }

  /**
   * Elements from `start` until `limit`, an item delimiter (when inItem), or, at the top level, until
   * `stop(tag)` says the next element belongs to someone else (the end of the file meta group).
   */
  elements(
    start: number,
    limit: number,
    enc: Encoding,
    options: { inItem?: boolean; stop?: (tag: number) => boolean } = {},
  ): { elements: RawElement[]; next: number } {
    const elements: RawElement[] = [];
    let pos = start;
    while (pos < limit) {
      if (!options.inItem && limit - pos < 8) return { elements, next: limit }; // trailing bytes: not an element
      this.need(pos, 8, limit);
      const tag = this.tagAt(pos, enc.little);
      if (tag === ITEM_END && options.inItem) return { elements, next: pos + 8 };
      if (options.stop?.(tag)) return { elements, next: pos };
      if (tag === TRAILING_PADDING && !options.inItem) return { elements, next: limit }; // padding: dropped
      if (tag === ITEM || tag === ITEM_END || tag === SEQUENCE_END) throw corrupt(`unexpected delimiter at byte ${pos}.`);
      const el = this.element(pos, limit, enc, tag);
      elements.push(el);
      pos = el.end;
    }
    if (options.inItem) throw corrupt("an item of undefined length has no item delimiter.");
    return { elements, next: pos };
  }

  private element(pos: number, limit: number, enc: Encoding, tag: number): RawElement {
    let vr: string | undefined;
    let length: number;
    let valueStart: number;
    if (enc.explicit) {
      vr = String.fromCharCode(this.bytes[pos + 4]!, this.bytes[pos + 5]!);
      if (!/^[A-Z]{2}$/.test(vr)) throw corrupt(`invalid VR at byte ${pos + 4}.`);
      if (LONG_VRS.has(vr)) {
        this.need(pos, 12, limit);
        length = this.view.getUint32(pos + 8, enc.little);
        valueStart = pos + 12;
      } else {
        length = this.view.getUint16(pos + 6, enc.little);
        valueStart = pos + 8;
      }
    } else {
      length = this.view.getUint32(pos + 4, enc.little);
      valueStart = pos + 8;
    }
    if (length === UNDEFINED) {
      if (tag === PIXEL_DATA) return { tag, vr, start: pos, valueStart, end: this.encapsulatedEnd(valueStart, limit, enc) };
      const itemEncoding = vr === "UN" ? IMPLICIT_LE : enc;
      const { items, next } = this.items(valueStart, limit, itemEncoding, false);
      return { tag, vr, start: pos, valueStart, end: next, items, itemEncoding };
    }
    const end = valueStart + length;
    if (end > limit) throw corrupt(`the element (${hex(tag)}) at byte ${pos} is longer than the data that holds it.`);
    const itemEncoding = vr === "UN" ? IMPLICIT_LE : enc;
    const sequence =
      vr === "SQ" || ((vr === undefined || vr === "UN") && tag !== PIXEL_DATA && this.startsWithItem(valueStart, end, itemEncoding));
    if (!sequence) return { tag, vr, start: pos, valueStart, end };
    return { tag, vr, start: pos, valueStart, end, items: this.items(valueStart, end, itemEncoding, true).items, itemEncoding };
  }

  /** Implicit VR has no "SQ": a value that opens with an item tag and a fitting item length is a sequence. */
  private startsWithItem(start: number, end: number, enc: Encoding): boolean {
    if (end - start < 8 || this.tagAt(start, enc.little) !== ITEM) return false;
    const length = this.view.getUint32(start + 4, enc.little);
    return length === UNDEFINED || start + 8 + length <= end;
  }

  private items(start: number, limit: number, enc: Encoding, defined: boolean): { items: RawElement[][]; next: number } {
    const items: RawElement[][] = [];
    let pos = start;
    for (;;) {
      if (defined && pos >= limit) return { items, next: limit };
      this.need(pos, 8, limit);
      const tag = this.tagAt(pos, enc.little);
      if (tag === SEQUENCE_END) return { items, next: pos + 8 };
      if (tag !== ITEM) throw corrupt(`expected a sequence item at byte ${pos}.`);
      const length = this.view.getUint32(pos + 4, enc.little);
      if (length === UNDEFINED) {
        const r = this.elements(pos + 8, limit, enc, { inItem: true });
        items.push(r.elements);
        pos = r.next;
      } else {
        this.need(pos + 8, length, limit);
        items.push(this.elements(pos + 8, pos + 8 + length, enc).elements);
        pos += 8 + length;
      }
    }
  }

  /** Encapsulated pixel data: fragments (items) up to the sequence delimiter, copied as they are. */
  private encapsulatedEnd(start: number, limit: number, enc: Encoding): number {
    let pos = start;
    for (;;) {
      this.need(pos, 8, limit);
      const tag = this.tagAt(pos, enc.little);
      if (tag === SEQUENCE_END) return pos + 8;
      if (tag !== ITEM) throw corrupt(`expected a pixel data fragment at byte ${pos}.`);
      pos += 8 + this.view.getUint32(pos + 4, enc.little);
    }
  }
}

/** What happens to one element. Sequences that are kept are always walked, so the decisions apply inside them too. */
export type Decision = { kind: "keep" } | { kind: "drop" } | { kind: "empty" } | { kind: "replace"; value: Uint8Array };

/** An element to add (e.g. Patient Identity Removed); items are lists of elements. */
export interface NewElement {
  tag: number;
  vr: string;
  value?: Uint8Array;
  items?: NewElement[][];
}

export class ElementWriter {
  constructor(
    private readonly src: Uint8Array,
    private readonly decide: (el: RawElement) => Decision,
  ) {}

  /** The elements re-encoded, with `added` merged in tag order (an existing element with the same tag is replaced). */
  write(elements: RawElement[], enc: Encoding, added: NewElement[] = []): Uint8Array[] {
    const out: Uint8Array[] = [];
    const pending = [...added].sort((a, b) => a.tag - b.tag);
    for (const el of elements) {
      while (pending.length && pending[0]!.tag < el.tag) out.push(...this.encodeNew(pending.shift()!, enc));
      if (pending.length && pending[0]!.tag === el.tag) continue; // replaced by the added one
      out.push(...this.rewrite(el, enc));
    }
    for (const el of pending) out.push(...this.encodeNew(el, enc));
    return out;
  }

  private rewrite(el: RawElement, enc: Encoding): Uint8Array[] {
    const decision = this.decide(el);
    switch (decision.kind) {
      case "drop":
        return [];
      case "empty":
        return [header(el.tag, el.vr, 0, enc)];
      case "replace":
        return [header(el.tag, el.vr, decision.value.length, enc), decision.value];
      case "keep": {
        if (!el.items) return [this.src.subarray(el.start, el.end)];
        const itemEnc = el.itemEncoding ?? enc;
        return this.sequence(
          el.tag,
          el.vr,
          el.items.map((item) => this.write(item, itemEnc)),
          enc,
          itemEnc,
        );
      }
    }
  }

  private encodeNew(el: NewElement, enc: Encoding): Uint8Array[] {
    const vr = enc.explicit ? el.vr : undefined;
    if (el.items)
      return this.sequence(
        el.tag,
        vr,
        el.items.map((item) => this.write([], enc, item)),
        enc,
        enc,
      );
    const value = el.value ?? new Uint8Array(0);
    return [header(el.tag, vr, value.length, enc), value];
  }

  private sequence(tag: number, vr: string | undefined, items: Uint8Array[][], enc: Encoding, itemEnc: Encoding): Uint8Array[] {
    const out: Uint8Array[] = [];
    let total = 0;
    for (const parts of items) {
      const length = size(parts);
      out.push(itemHeader(length, itemEnc), ...parts);
      total += 8 + length;
    }
    return [header(tag, vr, total, enc), ...out];
  }
}

export function size(parts: Uint8Array[]): number {
  return parts.reduce((n, p) => n + p.length, 0);
}

function itemHeader(length: number, enc: Encoding): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint16(0, 0xfffe, enc.little);
  v.setUint16(2, 0xe000, enc.little);
  v.setUint32(4, length, enc.little);
  return b;
}

export function header(tag: number, vr: string | undefined, length: number, enc: Encoding): Uint8Array {
  if (enc.explicit && !vr) throw new Error(`header: explicit VR needed for (${hex(tag)})`);
  const long = !enc.explicit || LONG_VRS.has(vr ?? "");
  if (!long && length > 0xffff) throw corrupt(`a new value for (${hex(tag)}) is too long for its VR.`);
  const b = new Uint8Array(enc.explicit && long ? 12 : 8);
  const v = new DataView(b.buffer);
  v.setUint16(0, tag >>> 16, enc.little);
  v.setUint16(2, tag & 0xffff, enc.little);
  if (!enc.explicit) {
    v.setUint32(4, length, enc.little);
    return b;
  }
  b[4] = vr!.charCodeAt(0);
  b[5] = vr!.charCodeAt(1);
  if (long) v.setUint32(8, length, enc.little);
  else v.setUint16(6, length, enc.little);
  return b;
}

/** A text value padded to even length as PS3.5 6.2 wants: NUL for UI, space otherwise. */
export function textValue(text: string, vr: string): Uint8Array {
  const raw = Buffer.from(text, "latin1");
  if (raw.length % 2 === 0) return new Uint8Array(raw);
  const out = new Uint8Array(raw.length + 1);
  out.set(raw);
  out[raw.length] = vr === "UI" ? 0 : 0x20;
  return out;
}
