// Content item builders (PS3.3 C.17.3): each returns the elements of one item of a Content Sequence.
import type { Code } from "./codes.ts";
import type { Element } from "./encode.ts";

export type Relationship = "CONTAINS" | "HAS OBS CONTEXT" | "HAS CONCEPT MOD" | "HAS PROPERTIES" | "SELECTED FROM" | "INFERRED FROM";

export function codeItem(code: Code): Element[] {
  return [
    { tag: [0x0008, 0x0100], vr: "SH", value: code.value },
    { tag: [0x0008, 0x0102], vr: "SH", value: code.scheme },
    { tag: [0x0008, 0x0104], vr: "LO", value: code.meaning.slice(0, 64) },
  ];
}

export function codeSequence(tag: readonly [number, number], code: Code): Element {
  return { tag, vr: "SQ", items: [codeItem(code)] };
}

function base(relationship: Relationship | null, valueType: string, concept: Code | null, children: Element[][]): Element[] {
  const els: Element[] = [{ tag: [0x0040, 0xa040], vr: "CS", value: valueType }];
  if (relationship) els.push({ tag: [0x0040, 0xa010], vr: "CS", value: relationship });
  if (concept) els.push(codeSequence([0x0040, 0xa043], concept));
  if (children.length > 0) els.push({ tag: [0x0040, 0xa730], vr: "SQ", items: children });
  return els;
}

export function container(relationship: Relationship | null, concept: Code, children: Element[][]): Element[] {
  return [...base(relationship, "CONTAINER", concept, children), { tag: [0x0040, 0xa050], vr: "CS", value: "SEPARATE" }];
}

// LT would cap a sentence at 10240 characters; UT has no practical limit
export function text(relationship: Relationship, concept: Code, value: string, children: Element[][] = []): Element[] {
  return [...base(relationship, "TEXT", concept, children), { tag: [0x0040, 0xa160], vr: "UT", value }];
}

export function code(relationship: Relationship, concept: Code, value: Code, children: Element[][] = []): Element[] {
  return [...base(relationship, "CODE", concept, children), codeSequence([0x0040, 0xa168], value)];
}

export function uidref(relationship: Relationship, concept: Code, uid: string): Element[] {
  return [...base(relationship, "UIDREF", concept, []), { tag: [0x0040, 0xa124], vr: "UI", value: uid }];
}

// DS holds at most 16 characters
export function decimalString(n: number): string {
  const s = n.toPrecision(6);
  return (s.includes("e") ? n.toFixed(6) : s).slice(0, 16);
}

export function num(relationship: Relationship, concept: Code, value: number, units: Code): Element[] {
  return [
    ...base(relationship, "NUM", concept, []),
    {
      tag: [0x0040, 0xa300],
      vr: "SQ",
      items: [[codeSequence([0x0040, 0x08ea], units), { tag: [0x0040, 0xa30a], vr: "DS", value: decimalString(value) }]],
    },
  ];
}

export interface ImageReference {
  sopClassUid: string;
  sopInstanceUid: string;
}

export function referencedSop(ref: ImageReference): Element {
  return {
    tag: [0x0008, 0x1199],
    vr: "SQ",
    items: [
      [
        { tag: [0x0008, 0x1150], vr: "UI", value: ref.sopClassUid },
        { tag: [0x0008, 0x1155], vr: "UI", value: ref.sopInstanceUid },
      ],
    ],
  };
}

export function image(relationship: Relationship, ref: ImageReference): Element[] {
  return [...base(relationship, "IMAGE", null, []), referencedSop(ref)];
}

// A box as a closed POLYLINE in image pixel coordinates (column, row), selected from the source image.
export function boxScoord(concept: Code, box: { x1: number; y1: number; x2: number; y2: number }, ref: ImageReference): Element[] {
  const { x1, y1, x2, y2 } = box;
  return [
    ...base("CONTAINS", "SCOORD", concept, [image("SELECTED FROM", ref)]),
    { tag: [0x0070, 0x0022], vr: "FL", floats: [x1, y1, x2, y1, x2, y2, x1, y2, x1, y1] },
    { tag: [0x0070, 0x0023], vr: "CS", value: "POLYLINE" },
  ];
}
