// Wraps an 8-bit grayscale image (a decoded PNG or JPEG upload) as a Secondary Capture DICOM instance, so that a
// PACS can hold uploads next to modality images. UIDs are generated under 2.25 unless given.
import { PLATFORM_MANUFACTURER } from "../platform.ts";
import { type Element, encodePart10 } from "../dicom-sr/encode.ts";
import { IMPLEMENTATION_CLASS_UID, newUid } from "../dicom-sr/uid.ts";

export const SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7";

export interface SecondaryCaptureInput {
  width: number;
  height: number;
  /** row-major 8-bit grayscale, width × height */
  pixels: Uint8Array;
  patient: { id: string; name?: string | null };
  study: { studyInstanceUid?: string | null; accession: string };
  createdAt: Date;
  /** fixed series and instance UIDs (a content-addressed store derives them from the pixels' hash); new ones if absent */
  uids?: { seriesInstanceUid: string; sopInstanceUid: string };
}

export interface WrappedImage {
  bytes: Buffer;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
}

export function wrapSecondaryCapture(input: SecondaryCaptureInput): WrappedImage {
  if (input.pixels.length !== input.width * input.height) throw new RangeError("pixel count does not match width × height");
  const studyInstanceUid = input.study.studyInstanceUid ?? newUid();
  const seriesInstanceUid = input.uids?.seriesInstanceUid ?? newUid();
  const sopInstanceUid = input.uids?.sopInstanceUid ?? newUid();
  const day = input.createdAt.toISOString().slice(0, 10).replace(/-/g, "");
  const s = (tag: readonly [number, number], vr: "CS" | "DA" | "LO" | "PN" | "SH" | "TM" | "UI" | "IS", value: string): Element => ({
    tag,
    vr,
    value,
  });
  const ds: Element[] = [
    s([0x0008, 0x0016], "UI", SECONDARY_CAPTURE),
    s([0x0008, 0x0018], "UI", sopInstanceUid),
    s([0x0008, 0x0020], "DA", ""),
    s([0x0008, 0x0030], "TM", ""),
    s([0x0008, 0x0050], "SH", input.study.accession.slice(0, 16)),
    s([0x0008, 0x0060], "CS", "OT"),
    s([0x0008, 0x0064], "CS", "WSD"),
    s([0x0008, 0x0070], "LO", PLATFORM_MANUFACTURER),
    s([0x0008, 0x0090], "PN", ""),
    s([0x0010, 0x0010], "PN", input.patient.name ?? ""),
    s([0x0010, 0x0020], "LO", input.patient.id.slice(0, 64)),
    s([0x0010, 0x0030], "DA", ""),
    s([0x0010, 0x0040], "CS", ""),
    s([0x0018, 0x1012], "DA", day),
    s([0x0020, 0x000d], "UI", studyInstanceUid),
    s([0x0020, 0x000e], "UI", seriesInstanceUid),
    s([0x0020, 0x0010], "SH", input.study.accession.slice(0, 16)),
    s([0x0020, 0x0011], "IS", "1"),
    s([0x0020, 0x0013], "IS", "1"),
    s([0x0020, 0x0020], "CS", ""),
    s([0x0020, 0x0060], "CS", ""),
    { tag: [0x0028, 0x0002], vr: "US", shorts: [1] },
    s([0x0028, 0x0004], "CS", "MONOCHROME2"),
    { tag: [0x0028, 0x0010], vr: "US", shorts: [input.height] },
    { tag: [0x0028, 0x0011], vr: "US", shorts: [input.width] },
    { tag: [0x0028, 0x0100], vr: "US", shorts: [8] },
    { tag: [0x0028, 0x0101], vr: "US", shorts: [8] },
    { tag: [0x0028, 0x0102], vr: "US", shorts: [7] },
    { tag: [0x0028, 0x0103], vr: "US", shorts: [0] },
    { tag: [0x7fe0, 0x0010], vr: "OB", bytes: input.pixels },
  ];
  const bytes = encodePart10(ds, { sopClassUid: SECONDARY_CAPTURE, sopInstanceUid, implementationUid: IMPLEMENTATION_CLASS_UID });
  return { bytes, studyInstanceUid, seriesInstanceUid, sopInstanceUid };
}
