// Explicit VR little endian writer: just enough of PS3.5 to write an SR instance. Sequences and their items use
// undefined length (delimited), so no length has to be computed before the nested content is written.
export type Tag = readonly [group: number, element: number];

export type Element =
  | { tag: Tag; vr: "SQ"; items: Element[][] }
  | { tag: Tag; vr: "FL"; floats: number[] }
  | { tag: Tag; vr: "US"; shorts: number[] }
  | { tag: Tag; vr: "OB"; bytes: Uint8Array }
  /** encapsulated pixel data (PS3.5 A.4): an empty Basic Offset Table, then one item per fragment */
  | { tag: Tag; vr: "OB"; fragments: Uint8Array[] }
  | { tag: Tag; vr: StringVr; value: string };

export type StringVr = "AE" | "CS" | "DA" | "DS" | "DT" | "IS" | "LO" | "PN" | "SH" | "TM" | "UI" | "UT" | "LT";

const LONG_LENGTH_VRS = new Set(["OB", "SQ", "UT", "UN"]);

function header(tag: Tag, vr: string, length: number): Buffer {
  if (LONG_LENGTH_VRS.has(vr)) {
    const b = Buffer.alloc(12);
    b.writeUInt16LE(tag[0], 0);
    b.writeUInt16LE(tag[1], 2);
    b.write(vr, 4, "latin1");
    b.writeUInt32LE(length, 8);
    return b;
  }
  if (length > 0xffff) throw new RangeError(`value too long for ${vr}`);
  const b = Buffer.alloc(8);
  b.writeUInt16LE(tag[0], 0);
  b.writeUInt16LE(tag[1], 2);
  b.write(vr, 4, "latin1");
  b.writeUInt16LE(length, 6);
  return b;
}

// UIDs pad with NUL, other strings with a space, to an even length (PS3.5 6.2).
function padded(vr: StringVr, value: string): Buffer {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length % 2 === 0) return bytes;
  return Buffer.concat([bytes, Buffer.from(vr === "UI" ? [0] : [0x20])]);
}

const UNDEFINED = 0xffffffff;

function item(tag: Tag, length: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(tag[0], 0);
  b.writeUInt16LE(tag[1], 2);
  b.writeUInt32LE(length, 4);
  return b;
}

export function encodeElements(elements: Element[], out: Buffer[] = []): Buffer[] {
  const sorted = [...elements].sort((a, b) => a.tag[0] - b.tag[0] || a.tag[1] - b.tag[1]);
  for (const el of sorted) {
    if (el.vr === "SQ") {
      out.push(header(el.tag, "SQ", UNDEFINED));
      for (const it of el.items) {
        out.push(item([0xfffe, 0xe000], UNDEFINED));
        encodeElements(it, out);
        out.push(item([0xfffe, 0xe00d], 0));
      }
      out.push(item([0xfffe, 0xe0dd], 0));
    } else if (el.vr === "FL") {
      const b = Buffer.alloc(el.floats.length * 4);
      el.floats.forEach((f, i) => {
        b.writeFloatLE(f, i * 4);
      });
      out.push(header(el.tag, "FL", b.length), b);
    } else if (el.vr === "US") {
      const b = Buffer.alloc(el.shorts.length * 2);
      el.shorts.forEach((s, i) => {
        b.writeUInt16LE(s, i * 2);
      });
      out.push(header(el.tag, "US", b.length), b);
    } else if (el.vr === "OB" && "fragments" in el) {
      out.push(header(el.tag, "OB", UNDEFINED), item([0xfffe, 0xe000], 0));
      for (const f of el.fragments) {
        const b = f.length % 2 === 0 ? Buffer.from(f) : Buffer.concat([f, Buffer.from([0])]);
        out.push(item([0xfffe, 0xe000], b.length), b);
      }
      out.push(item([0xfffe, 0xe0dd], 0));
    } else if (el.vr === "OB") {
      const b = el.bytes.length % 2 === 0 ? Buffer.from(el.bytes) : Buffer.concat([el.bytes, Buffer.from([0])]);
      out.push(header(el.tag, "OB", b.length), b);
    } else {
      const b = padded(el.vr, el.value);
      out.push(header(el.tag, el.vr, b.length), b);
    }
  }
  return out;
}

const EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1";

// Part 10 file: 128-byte preamble, "DICM", group 2 with its group length, then the data set.
export function encodePart10(
  dataset: Element[],
  meta: { sopClassUid: string; sopInstanceUid: string; implementationUid: string; transferSyntaxUid?: string },
): Buffer {
  const group2 = Buffer.concat(
    encodeElements([
      { tag: [0x0002, 0x0001], vr: "OB", bytes: Uint8Array.from([0, 1]) },
      { tag: [0x0002, 0x0002], vr: "UI", value: meta.sopClassUid },
      { tag: [0x0002, 0x0003], vr: "UI", value: meta.sopInstanceUid },
      { tag: [0x0002, 0x0010], vr: "UI", value: meta.transferSyntaxUid ?? EXPLICIT_VR_LITTLE_ENDIAN },
      { tag: [0x0002, 0x0012], vr: "UI", value: meta.implementationUid },
    ]),
  );
  const groupLength = header([0x0002, 0x0000], "UL", 4);
  const lengthValue = Buffer.alloc(4);
  lengthValue.writeUInt32LE(group2.length, 0);
  return Buffer.concat([Buffer.alloc(128), Buffer.from("DICM", "latin1"), groupLength, lengthValue, group2, ...encodeElements(dataset)]);
}
