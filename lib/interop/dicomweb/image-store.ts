// The PACS as the image store: an ImageStore whose pixels live in a DICOMweb server (Orthanc or any other), so that
// gateways and workers on any machines share one store without a shared disk.
//  - put(display PNG): its 8-bit pixels are wrapped as a Secondary Capture instance and sent with STOW-RS. The UIDs
//    come from the content hash (2.25.<128 bits of a SHA-256>), so the same bytes always name the same instance and
//    a second upload stores nothing new.
//  - put(DICOM original): sent as is (de-identified by ingest unless the tenant keeps identified files), under its
//    own Study/Series/SOP Instance UIDs.
//  - keys name the instance: "pacs/<study>/<series>/<sop>.<png|dcm>". get(".png") reads the instance by WADO-RS
//    and re-encodes its pixels as the same 8-bit gray PNG the disk store would hold; get(".dcm") returns the file.
// Every failure to reach the server is an UnavailableError (retriable): the upload answers 503, the worker retries.
import { createHash } from "node:crypto";
import { AppError, UnavailableError, ValidationError } from "../../errors/index.ts";
import { decodeImage, encodeGrayPng, resolveImageLimits, sha256Hex, type ImageLimits, type ImageStore } from "../../images/index.ts";
import type { KnownContent, StoredObject } from "../../images/store.ts";
import { wrapSecondaryCapture } from "../dicom-sc/wrap.ts";
import { createDicomWebClient, DicomWebError, type DicomWebClient } from "./client.ts";

export interface PacsImageStoreOptions {
  /** the DICOMweb base URL, e.g. http://127.0.0.1:8042/dicom-web */
  dicomWebUrl: string;
  credentials?: { username: string; password: string } | null;
  timeoutMs?: number;
  /** limits for decoding what the PACS sends back (a PACS is trusted less than our own disk) */
  limits?: Partial<ImageLimits>;
  /** a client to use instead of one built from dicomWebUrl (tests) */
  client?: DicomWebClient;
}

export interface PacsImageStore extends ImageStore {
  readonly kind: "pacs";
  readonly dicomWebUrl: string;
  readonly displayOnlyRaster: true;
}

const UID = "[0-9]+(?:\\.[0-9]+)*";
const KEY = new RegExp(`^pacs/(${UID})/(${UID})/(${UID})\\.(png|dcm)$`);

export interface PacsKey {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  ext: "png" | "dcm";
}

export function pacsKey(ref: Omit<PacsKey, "ext">, ext: PacsKey["ext"]): string {
  const key = `pacs/${ref.studyInstanceUid}/${ref.seriesInstanceUid}/${ref.sopInstanceUid}.${ext}`;
  parsePacsKey(key);
  return key;
}

/** Validates a key (UIDs of at most 64 characters, digits and dots only: nothing else reaches a URL). */
export function parsePacsKey(key: string): PacsKey {
  const m = KEY.exec(key);
  if (!m || m[1]!.length > 64 || m[2]!.length > 64 || m[3]!.length > 64)
    throw new TypeError(`Invalid PACS image key: ${JSON.stringify(key.slice(0, 200))}`);
  return { studyInstanceUid: m[1]!, seriesInstanceUid: m[2]!, sopInstanceUid: m[3]!, ext: m[4] as PacsKey["ext"] };
}

/** "2.25." + the first 128 bits of SHA-256(parts) as a decimal: a UUID-derived UID (PS3.5 B.2), at most 44 chars. */
export function uidFromContent(...parts: string[]): string {
  const digest = createHash("sha256").update(parts.join("\u0000")).digest("hex");
  return `2.25.${BigInt(`0x${digest.slice(0, 32)}`).toString(10)}`;
}

/** The UIDs of the Secondary Capture instance that holds a display image with this SHA-256. */
export function secondaryCaptureUids(sha256: string, studyInstanceUid?: string) {
  const scope = studyInstanceUid ?? "";
  return {
    studyInstanceUid: studyInstanceUid ?? uidFromContent("study", sha256),
    seriesInstanceUid: uidFromContent("series", scope, sha256),
    sopInstanceUid: uidFromContent("sop", scope, sha256),
  };
}

function unavailable(what: string, err: unknown): AppError {
  if (err instanceof AppError) return err;
  const status = err instanceof DicomWebError ? err.status : null;
  // A refusal of our own instance (4xx other than 404/409/429) is not going to change on a retry; everything else
  // (connection refused, timeouts, 5xx) is the PACS being down or overloaded.
  if (status !== null && status >= 400 && status < 500 && ![404, 408, 409, 429].includes(status))
    return new AppError("PACS_REFUSED", `The PACS refused to ${what} (HTTP ${status}).`, 502, false);
  return new UnavailableError(`The PACS could not ${what}; retry later.`, {
    details: { pacs: "unavailable", ...(status === null ? {} : { status }) },
  });
}

export function createPacsImageStore(options: PacsImageStoreOptions): PacsImageStore {
  const client =
    options.client ??
    createDicomWebClient({
      baseUrl: options.dicomWebUrl,
      credentials: options.credentials ?? null,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  const limits = resolveImageLimits(options.limits ?? {});

  async function exists(ref: PacsKey): Promise<boolean> {
    try {
      const found = await client.searchInstances(ref.studyInstanceUid);
      return found.some((attrs) => attrs["00080018"]?.Value?.[0] === ref.sopInstanceUid);
    } catch (err) {
      if (err instanceof DicomWebError && err.status === 404) return false;
      throw unavailable("look up an instance", err);
    }
  }

  async function store(bytes: Uint8Array, ref: PacsKey): Promise<boolean> {
    if (await exists(ref)) return false;
    try {
      await client.store([bytes]);
    } catch (err) {
      throw unavailable("store the image", err);
    }
    return true;
  }

  async function put(bytes: Uint8Array, ext: string, known: KnownContent = {}): Promise<StoredObject> {
    const sha256 = known.sha256 ?? sha256Hex(bytes);
    if (ext === "dcm") {
      if (!known.instance)
        throw new ValidationError("A DICOM file without Study, Series and SOP Instance UIDs cannot be stored in the PACS.");
      const ref = { ...known.instance, ext } as const;
      const key = pacsKey(ref, ext);
      return { key, sha256, bytes: bytes.length, created: await store(bytes, ref) };
    }
    if (ext !== "png") throw new TypeError(`the PACS store keeps display PNGs and DICOM files, not .${ext}`);
    // The display PNG was made (and limit-checked) by ingest; decoding it again here gives the pixels to wrap.
    const image = decodeImage(bytes, { limits, filenameHint: "display.png" });
    if (image.bitsStored !== 8 || image.photometric !== "MONOCHROME2")
      throw new TypeError("the PACS store wraps 8-bit grayscale display images only");
    const uids = secondaryCaptureUids(sha256, known.studyInstanceUid);
    const ref = { ...uids, ext } as const;
    const key = pacsKey(ref, ext);
    if (await exists(ref)) return { key, sha256, bytes: bytes.length, created: false };
    const wrapped = wrapSecondaryCapture({
      width: image.width,
      height: image.height,
      pixels: image.pixels,
      // No PHI: the platform links the instance to its patient through the Image row, not through the PACS.
      patient: { id: "" },
      study: { studyInstanceUid: uids.studyInstanceUid, accession: "" },
      seriesInstanceUid: uids.seriesInstanceUid,
      sopInstanceUid: uids.sopInstanceUid,
      createdAt: new Date(),
    });
    try {
      await client.store([wrapped.bytes]);
    } catch (err) {
      throw unavailable("store the image", err);
    }
    return { key, sha256, bytes: bytes.length, created: true };
  }

  async function get(key: string): Promise<Buffer | null> {
    const ref = parsePacsKey(key);
    let bytes: Buffer;
    try {
      bytes = await client.retrieveInstance(ref.studyInstanceUid, ref.seriesInstanceUid, ref.sopInstanceUid);
    } catch (err) {
      if (err instanceof DicomWebError && err.status === 404) return null;
      throw unavailable("read the image", err);
    }
    if (ref.ext === "dcm") return bytes;
    const image = decodeImage(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      limits,
      filenameHint: "instance.dcm",
    });
    return encodeGrayPng(image.pixels, image.width, image.height);
  }

  return {
    kind: "pacs",
    dicomWebUrl: options.dicomWebUrl,
    displayOnlyRaster: true,
    put,
    get,
    has: async (key) => exists(parsePacsKey(key)),
    // DICOMweb has no delete: a stray instance left by a failed upload is harmless (content-addressed, and the
    // next upload of the same file finds it), so nothing is removed.
    delete: async () => false,
  };
}
