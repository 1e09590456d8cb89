// Keys of the PACS image store (pacs-store.ts) and the per-caller wrappers around it. "dicomweb:<study>/<series>/<sop>"
// names an instance by its UIDs: ".png" a display image stored as a Secondary Capture under UIDs from its hash, ".dcm"
// a DICOM upload's original under its own UIDs, ".jpg" a JPEG upload's original inside a Secondary Capture.
// "orthanc:<Orthanc id>" names a film that came in through DICOM in, by Orthanc id (".png" its display image, ".dcm"
// the file).
import { createHash } from "node:crypto";
import { readStowIdentity } from "../pacs-ingest/stow-identity.ts";
import { sha256Hex, type ImageStore } from "./store.ts";

export const PACS_KEY_PREFIX = "dicomweb:";
const PACS_KEY = /^dicomweb:(2\.25\.[0-9]{1,39})\/(2\.25\.[0-9]{1,39})\/(2\.25\.[0-9]{1,39})\.png$/;

export const ORIGINAL_KEY_PREFIX = "orthanc:";
const ORIGINAL_KEY = /^orthanc:([0-9a-f]{8}(?:-[0-9a-f]{8}){4})\.(png|dcm)$/;

/**
 * The keys of a film ingested from the PACS: its original instance there, by Orthanc id; ".png" reads as its display
 * image (decoded as at ingest), ".dcm" as the file itself.
 */
export function originalInstanceKey(orthancId: string, ext: "png" | "dcm" = "png"): string {
  const key = `${ORIGINAL_KEY_PREFIX}${orthancId}.${ext}`;
  if (!ORIGINAL_KEY.test(key)) throw new TypeError("not an Orthanc instance id");
  return key;
}

export function parseOriginalKey(key: string): { id: string; ext: string } | null {
  if (!key.startsWith(ORIGINAL_KEY_PREFIX)) return null;
  const m = ORIGINAL_KEY.exec(key);
  if (!m) throw new TypeError(`Invalid PACS original key: ${JSON.stringify(key)}`);
  return { id: m[1]!, ext: m[2]! };
}

/**
 * The DICOM-in watcher's store for one instance already in the PACS: nothing is written, neither the display image nor
 * the (de-identified) original; both keys name the instance that was sent (no second copy there). The record's hashes
 * stay those of what the ingest derived, as fingerprints.
 */
export function displayFromOriginal(store: ImageStore, orthancId: string): ImageStore {
  const keys = new Set([originalInstanceKey(orthancId, "png"), originalInstanceKey(orthancId, "dcm")]);
  return {
    analysisCopies: false, // the instance is the only copy
    put: (bytes, ext, known) =>
      ext === "png" || ext === "dcm"
        ? Promise.resolve({
            key: originalInstanceKey(orthancId, ext),
            sha256: known?.sha256 ?? sha256Hex(bytes),
            bytes: bytes.length,
            created: false,
          })
        : store.put(bytes, ext, known),
    get: (k) => store.get(k),
    has: (k) => store.has(k),
    delete: (k) => (keys.has(k) ? Promise.resolve(false) : store.delete(k)),
  };
}

const UPLOAD_ORIGINAL_KEY = /^dicomweb:([0-9.]{1,64})\/([0-9.]{1,64})\/([0-9.]{1,64})\.(dcm|jpg)$/;
export const isUploadOriginalKey = (key: string) => key.startsWith(PACS_KEY_PREFIX) && (key.endsWith(".dcm") || key.endsWith(".jpg"));

/** An upload's original in the PACS: a DICOM as the instance it is (".dcm"), a JPEG inside a Secondary Capture (".jpg"). */
export function parseUploadOriginalKey(key: string): (PacsInstanceUids & { ext: string }) | null {
  if (!isUploadOriginalKey(key)) return null;
  const m = UPLOAD_ORIGINAL_KEY.exec(key);
  if (!m) throw new TypeError(`Invalid PACS original key: ${JSON.stringify(key)}`);
  return { studyInstanceUid: m[1]!, seriesInstanceUid: m[2]!, sopInstanceUid: m[3]!, ext: m[4]! };
}

/**
 * The upload path's store for one caller: a DICOM original is claimed for the caller's tenant (by the Orthanc id it
 * will get) before it goes into the PACS, so the DICOM-in watcher knows it as the platform's own and does not report
 * it as an instance from an unknown sender.
 */
export function claimingOriginals(store: ImageStore, claim: (orthancId: string) => Promise<unknown>): ImageStore {
  return {
    ...(store.analysisCopies === undefined ? {} : { analysisCopies: store.analysisCopies }),
    async put(bytes, ext, known) {
      const identity = ext === "dcm" ? readStowIdentity(bytes) : null;
      if (identity) await claim(identity.orthancId);
      return store.put(bytes, ext, known);
    },
    get: (k) => store.get(k),
    has: (k) => store.has(k),
    delete: (k) => store.delete(k),
  };
}

export interface PacsInstanceUids {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
}

/** "2.25.<decimal of the first 128 bits of sha256(role:content hash)>": one UID per role, fixed by the content. */
export function contentUids(sha256: string): PacsInstanceUids {
  const uid = (role: string): string => {
    const digest = createHash("sha256").update(`${role}:${sha256}`).digest("hex").slice(0, 32);
    return `2.25.${BigInt(`0x${digest}`).toString(10)}`;
  };
  return { studyInstanceUid: uid("study"), seriesInstanceUid: uid("series"), sopInstanceUid: uid("sop") };
}

export function pacsKey(uids: PacsInstanceUids): string {
  return `${PACS_KEY_PREFIX}${uids.studyInstanceUid}/${uids.seriesInstanceUid}/${uids.sopInstanceUid}.png`;
}

/** The instance a PACS key names, or null when the key is not one (a disk key). Malformed PACS keys throw. */
export function parsePacsKey(key: string): PacsInstanceUids | null {
  // an upload original's key (".dcm", ".jpg") names an instance too, but not a display image of this store
  if (!key.startsWith(PACS_KEY_PREFIX) || isUploadOriginalKey(key)) return null;
  const m = PACS_KEY.exec(key);
  if (!m) throw new TypeError(`Invalid PACS image key: ${JSON.stringify(key)}`);
  return { studyInstanceUid: m[1]!, seriesInstanceUid: m[2]!, sopInstanceUid: m[3]! };
}
