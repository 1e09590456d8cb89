// What the STOW-RS endpoint must know of an instance before it forwards it: its SOP class and instance (for the
// PS3.18 response) and the Orthanc id it will get, so the tenant's claim is written before Orthanc's change feed can
// show the instance to the watcher. Reads the header only (up to the Series Instance UID), after the same element
// count limit as the decoder, so a hostile part costs a linear scan and no more.
import { createHash } from "node:crypto";
import { checkHeaderCount } from "../images/dicom/count.ts";
import { dataSetStart, dicomParser, str } from "../images/dicom/parse.ts";

export interface StowIdentity {
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  /** Orthanc's id of the instance: SHA-1 of PatientID|Study|Series|SOP Instance UID, in five groups of eight */
  orthancId: string;
}

const UID = /^[0-9.]{1,64}$/;

/** Orthanc's instance id, as Orthanc computes it (DicomInstanceHasher). */
export function orthancInstanceId(patientId: string, study: string, series: string, sop: string): string {
  const hex = createHash("sha1").update(`${patientId}|${study}|${series}|${sop}`).digest("hex");
  return hex.match(/.{8}/g)!.join("-");
}

/** null when the bytes are not a DICOM Part 10 file carrying the four UIDs (preamble, "DICM", file meta). */
export function readStowIdentity(bytes: Uint8Array): StowIdentity | null {
  if (bytes.length < 132 || Buffer.from(bytes.subarray(128, 132)).toString("latin1") !== "DICM") return null;
  try {
    const start = dataSetStart(bytes, "part10");
    if (start) checkHeaderCount(bytes, start.offset, start.encoding);
    const ds = dicomParser.parseDicom(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { untilTag: "x0020000e" });
    const sopClassUid = str(ds, "x00080016") ?? str(ds, "x00020002");
    const sopInstanceUid = str(ds, "x00080018") ?? str(ds, "x00020003");
    const studyInstanceUid = str(ds, "x0020000d");
    const seriesInstanceUid = str(ds, "x0020000e");
    const uids = [sopClassUid, sopInstanceUid, studyInstanceUid, seriesInstanceUid];
    if (!uids.every((u): u is string => typeof u === "string" && UID.test(u))) return null;
    const patientId = str(ds, "x00100020") ?? "";
    return {
      sopClassUid: sopClassUid!,
      sopInstanceUid: sopInstanceUid!,
      studyInstanceUid: studyInstanceUid!,
      seriesInstanceUid: seriesInstanceUid!,
      orthancId: orthancInstanceId(patientId, studyInstanceUid!, seriesInstanceUid!, sopInstanceUid!),
    };
  } catch {
    return null;
  }
}
