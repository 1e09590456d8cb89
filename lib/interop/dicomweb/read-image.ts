// What a worker calls to load an image from the PACS instead of the local disk: WADO-RS retrieve, then the same
// decoder (and limits) as uploads, so pixels read from the PACS equal pixels decoded at upload.
import { decodeImage } from "../../images/index.ts";
import type { ImageLimits } from "../../images/limits.ts";
import type { DecodedImage } from "../../images/types.ts";
import type { DicomWebClient } from "./client.ts";

export interface InstanceReference {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
}

export async function readImageFromDicomWeb(client: DicomWebClient, ref: InstanceReference, limits: ImageLimits): Promise<DecodedImage> {
  const bytes = await client.retrieveInstance(ref.studyInstanceUid, ref.seriesInstanceUid, ref.sopInstanceUid);
  return decodeImage(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { limits, filenameHint: "instance.dcm" });
}
