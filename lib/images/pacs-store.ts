// An ImageStore whose display images live in a PACS, reached through DICOMweb: every gateway and worker on any
// machine that is given the same PACS shares one store. A display PNG (8-bit grayscale) is wrapped as a Secondary
// Capture instance and sent with STOW-RS; its Study/Series/SOP Instance UIDs are derived from the PNG's SHA-256, so
// a second put of the same content names the same instance (idempotent, no second instance) and the key alone says
// where the pixels are: "dicomweb:<study>/<series>/<sop>.png". A read fetches the instance with WADO-RS, decodes
// it with the upload decoder and re-encodes the same 8-bit pixels as PNG, so the engine and the console see exactly
// the pixels the disk store would give them. Other objects go to the fallback store (the local disk). The original of a DICOM
// upload goes into the PACS as the instance it is (de-identified where the tenant asks), under its own UIDs,
// "dicomweb:<study>/<series>/<sop>.dcm", and a JPEG original inside a Secondary Capture, byte for byte, under UIDs
// from its hash, ".jpg", so any gateway can finish the upload (attachImage checks it is there).
// A film that came INTO the PACS (DICOM in) is not stored a second time: its display key names the original instance
// by its Orthanc id, "orthanc:<id>.png" (originalInstanceKey), and a read decodes that instance as the ingest did, so
// the pixels are the ones a stored display image would have held. The Orthanc id, not the UIDs: a de-identifying
// tenant's records must not hold the original UIDs (the ingest log already keeps the id).
import { UnavailableError } from "../errors/index.ts";
import { createDicomWebClient, DicomWebError, type DicomWebClient } from "../interop/dicomweb/client.ts";
import { wrapJpegSecondaryCapture, wrapSecondaryCapture } from "../interop/dicom-sc/wrap.ts";
import { readJpegHeader, type JpegHeader } from "./jpeg.ts";
import { decodeImage } from "./decode.ts";
import { detectFormat } from "./detect.ts";
import { parseDicomBytes, us } from "./dicom/parse.ts";
import { encodeGrayPng } from "./encode.ts";
import { resolveImageLimits, type ImageLimits } from "./limits.ts";
import { createLocalDiskImageStore, sha256Hex, type ImageStore, type StoredObject } from "./store.ts";
import { createOrthancRest, type OrthancRest } from "../pacs-ingest/orthanc-rest.ts";
import { readStowIdentity } from "../pacs-ingest/stow-identity.ts";
import {
  contentUids,
  PACS_KEY_PREFIX,
  parseOriginalKey,
  pacsKey,
  parsePacsKey,
  parseUploadOriginalKey,
  type PacsInstanceUids,
} from "./pacs-keys.ts";

export {
  claimingOriginals,
  contentUids,
  displayFromOriginal,
  originalInstanceKey,
  PACS_KEY_PREFIX,
  pacsKey,
  parsePacsKey,
  type PacsInstanceUids,
} from "./pacs-keys.ts";

export interface PacsImageStore extends ImageStore {
  readonly kind: "pacs";
  /** where a stored display image lives, for the record */
  instanceOf(key: string): PacsInstanceUids | null;
}

export interface PacsImageStoreOptions {
  client: DicomWebClient;
  /** where objects other than display PNGs go (the original JPEG or DICOM of an upload) */
  fallback: ImageStore;
  limits?: Partial<ImageLimits>;
  now?: () => Date;
  /** Orthanc's REST API, where films ingested from the PACS are read by their Orthanc id (null: none here) */
  originals?: Pick<OrthancRest, "file" | "fileSize"> | null;
}

/**
 * The 8-bit pixels of an instance this store wrote, as stored: the general DICOM decoder would window an 8-bit image
 * without a VOI window to its min..max range, and the engine must see the very pixels that were stored. Anything
 * else under a PACS key (another writer's instance) is refused rather than guessed at.
 */
function storedPixels(bytes: Buffer, limits: ImageLimits): { width: number; height: number; pixels: Uint8Array } {
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const detected = detectFormat(view, { filenameHint: "instance.dcm" });
  if (detected.format !== "DICOM") throw new UnavailableError("The PACS answered something other than a DICOM instance.");
  const { dataSet } = parseDicomBytes(view, detected.layout, limits);
  const height = us(dataSet, "x00280010") ?? 0;
  const width = us(dataSet, "x00280011") ?? 0;
  const pixelData = dataSet.elements.x7fe00010;
  const eightBitGray = us(dataSet, "x00280100") === 8 && us(dataSet, "x00280002") === 1;
  if (!pixelData || !eightBitGray || width * height === 0 || width * height > limits.maxPixels || pixelData.length < width * height)
    throw new TypeError("the PACS instance is not an 8-bit grayscale image of this store");
  return { width, height, pixels: view.slice(pixelData.dataOffset, pixelData.dataOffset + width * height) };
}

/** The JPEG file inside a Secondary Capture this store wrote: its fragments, without the even-length pad byte. */
function storedJpeg(bytes: Buffer, limits: ImageLimits): Buffer {
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const detected = detectFormat(view, { filenameHint: "instance.dcm" });
  if (detected.format !== "DICOM") throw new UnavailableError("The PACS answered something other than a DICOM instance.");
  const fragments = parseDicomBytes(view, detected.layout, limits).dataSet.elements.x7fe00010?.fragments ?? [];
  if (fragments.length === 0) throw new TypeError("the PACS instance holds no encapsulated JPEG of this store");
  const jpeg = Buffer.concat(fragments.map((f) => view.subarray(f.position, f.position + f.length)));
  const n = jpeg.length;
  // a JPEG ends with FFD9; a 00 after it is the pad DICOM adds to an odd length
  return n >= 3 && jpeg[n - 1] === 0 && jpeg[n - 3] === 0xff && jpeg[n - 2] === 0xd9 ? jpeg.subarray(0, n - 1) : jpeg;
}

/** Network failures and 5xx answers are the PACS being away: retriable, with no detail of the request. */
function unavailable(error: unknown, what: string): UnavailableError {
  const status = error instanceof DicomWebError ? error.status : undefined;
  return new UnavailableError(`The PACS image store is unavailable (${what}); retry later.`, {
    details: { retryAfterSeconds: 5, ...(status === undefined ? {} : { status }) },
    cause: error,
  });
}

export function createPacsImageStore(options: PacsImageStoreOptions): PacsImageStore {
  const { client, fallback } = options;
  const limits = resolveImageLimits(options.limits ?? {});

  async function exists(uids: PacsInstanceUids): Promise<boolean> {
    try {
      const found = await client.searchInstances(uids.studyInstanceUid);
      return found.some((i) => i["00080018"]?.Value?.[0] === uids.sopInstanceUid);
    } catch (error) {
      // an unknown study is "not there" on servers that answer 404 instead of an empty list
      if (error instanceof DicomWebError && error.status === 404) return false;
      throw unavailable(error, "search");
    }
  }

  /** A DICOM original as it is, under its own UIDs; one that is there already (same UIDs) is not sent again. A bare
   * data set or one without UIDs stays on the fallback disk. */
  async function putDicom(bytes: Uint8Array, known: { sha256?: string }): Promise<StoredObject> {
    const identity = readStowIdentity(bytes);
    // A bare data set (no Part 10 header) or one without its UIDs is a DICOM the upload decoder reads but STOW-RS
    // cannot take as it is; like a JPEG no transfer syntax carries, its original stays on the fallback disk.
    if (!identity) return fallback.put(bytes, "dcm", known);
    const uids = {
      studyInstanceUid: identity.studyInstanceUid,
      seriesInstanceUid: identity.seriesInstanceUid,
      sopInstanceUid: identity.sopInstanceUid,
    };
    const key = `${PACS_KEY_PREFIX}${uids.studyInstanceUid}/${uids.seriesInstanceUid}/${uids.sopInstanceUid}.dcm`;
    const sha256 = known.sha256 ?? sha256Hex(bytes);
    if (await exists(uids)) return { key, sha256, bytes: bytes.length, created: false };
    await storeWrapped(bytes);
    return { key, sha256, bytes: bytes.length, created: true };
  }

  /**
   * A JPEG original inside a Secondary Capture, byte for byte (encapsulated), under UIDs from its hash. A JPEG that no
   * DICOM transfer syntax carries (progressive, 12-bit, other component counts) stays on the fallback disk.
   */
  async function putJpeg(bytes: Uint8Array, known: { sha256?: string }): Promise<StoredObject> {
    let header: JpegHeader;
    try {
      header = readJpegHeader(bytes);
    } catch {
      return fallback.put(bytes, "jpg", known);
    }
    const { sof, precision, components } = header;
    if ((sof !== 0 && sof !== 1) || precision !== 8 || (components !== 1 && components !== 3)) return fallback.put(bytes, "jpg", known);
    const sha256 = known.sha256 ?? sha256Hex(bytes);
    // not the display image's UIDs: those derive from the PNG's hash under the plain roles
    const uids = contentUids(`jpeg-original:${sha256}`);
    const key = `${PACS_KEY_PREFIX}${uids.studyInstanceUid}/${uids.seriesInstanceUid}/${uids.sopInstanceUid}.jpg`;
    if (await exists(uids)) return { key, sha256, bytes: bytes.length, created: false };
    const wrapped = wrapJpegSecondaryCapture({
      jpeg: bytes,
      width: header.width,
      height: header.height,
      components,
      extended: sof === 1,
      ...scIdentity(uids),
    });
    await storeWrapped(wrapped.bytes);
    return { key, sha256, bytes: bytes.length, created: true };
  }

  /** What every SC the store writes says about itself: no patient data (the platform's records link it to the
   * patient), the content-derived UIDs, the time of writing. */
  function scIdentity(uids: ReturnType<typeof contentUids>) {
    return {
      patient: { id: "GKMVLP-ANON" },
      study: { studyInstanceUid: uids.studyInstanceUid, accession: "" },
      createdAt: (options.now ?? (() => new Date()))(),
      uids: { seriesInstanceUid: uids.seriesInstanceUid, sopInstanceUid: uids.sopInstanceUid },
    };
  }

  async function storeWrapped(bytes: Uint8Array): Promise<void> {
    try {
      await client.store([bytes]);
    } catch (error) {
      throw unavailable(error, "store");
    }
  }

  async function put(bytes: Uint8Array, ext: string, known: { sha256?: string } = {}): Promise<StoredObject> {
    if (ext === "dcm") return putDicom(bytes, known);
    if (ext === "jpg") return putJpeg(bytes, known);
    if (ext !== "png") return fallback.put(bytes, ext, known);
    const sha256 = known.sha256 ?? sha256Hex(bytes);
    const uids = contentUids(sha256);
    const key = pacsKey(uids);
    if (await exists(uids)) return { key, sha256, bytes: bytes.length, created: false };
    // the display PNG was decoded (and limited) before; decoding it again here is what makes the SC hold the
    // exact 8-bit pixels, whatever PNG encoding the upload used
    const image = decodeImage(bytes, { limits, filenameHint: "display.png" });
    if (image.bitsStored !== 8 || image.pixels.length !== image.width * image.height)
      throw new TypeError("the PACS store keeps 8-bit grayscale display images only");
    const wrapped = wrapSecondaryCapture({ width: image.width, height: image.height, pixels: image.pixels, ...scIdentity(uids) });
    await storeWrapped(wrapped.bytes);
    return { key, sha256, bytes: bytes.length, created: true };
  }

  const originals = () => {
    if (!options.originals) throw new TypeError("an image ingested from the PACS is read through Orthanc: set ORTHANC_URL");
    return options.originals;
  };

  /** The ingest's display pixels of an original instance: the same decoder, so the same bytes as a stored PNG. */
  async function getOriginal(orthancId: string, ext: string): Promise<Buffer | null> {
    let bytes: Uint8Array | null;
    try {
      bytes = await originals().file(orthancId);
    } catch (error) {
      if (error instanceof TypeError) throw error;
      throw unavailable(error, "retrieve");
    }
    if (!bytes) return null;
    if (ext === "dcm") return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // its size was checked when it was ingested (PACS_INGEST_MAX_INSTANCE_BYTES); dimensions and pixels are again
    const image = decodeImage(bytes, {
      limits: { ...limits, maxBytes: Math.max(limits.maxBytes, bytes.length) },
      filenameHint: "instance.dcm",
    });
    return encodeGrayPng(image.pixels, image.width, image.height);
  }

  async function get(key: string): Promise<Buffer | null> {
    const original = parseOriginalKey(key);
    if (original) return getOriginal(original.id, original.ext);
    const upload = parseUploadOriginalKey(key);
    if (upload) {
      let instance: Buffer;
      try {
        instance = await client.retrieveInstance(upload.studyInstanceUid, upload.seriesInstanceUid, upload.sopInstanceUid);
      } catch (error) {
        if (error instanceof DicomWebError && error.status === 404) return null;
        throw unavailable(error, "retrieve");
      }
      return upload.ext === "jpg" ? storedJpeg(instance, limits) : instance;
    }
    const uids = parsePacsKey(key);
    if (!uids) return fallback.get(key);
    let instance: Buffer;
    try {
      instance = await client.retrieveInstance(uids.studyInstanceUid, uids.seriesInstanceUid, uids.sopInstanceUid);
    } catch (error) {
      if (error instanceof DicomWebError && error.status === 404) return null;
      throw unavailable(error, "retrieve");
    }
    const image = storedPixels(instance, limits);
    return encodeGrayPng(image.pixels, image.width, image.height);
  }

  async function has(key: string): Promise<boolean> {
    const original = parseOriginalKey(key);
    if (original) {
      try {
        return (await originals().fileSize(original.id)) !== null;
      } catch (error) {
        if (error instanceof TypeError) throw error;
        throw unavailable(error, "search");
      }
    }
    const uids = parseUploadOriginalKey(key) ?? parsePacsKey(key);
    return uids ? exists(uids) : fallback.has(key);
  }

  async function remove(key: string): Promise<boolean> {
    // DICOMweb has no delete; instances are content-addressed and shared, so the platform never removes them
    return key.startsWith(PACS_KEY_PREFIX) || parseOriginalKey(key) ? false : fallback.delete(key);
  }

  return { kind: "pacs", analysisCopies: false, put, get, has, delete: remove, instanceOf: parsePacsKey };
}

export type ImageStoreKind = "disk" | "pacs";

/**
 * The store an entry point runs with (IMAGE_STORE): the local disk under storageDir, or the PACS at dicomWebUrl with
 * the disk for originals. The configs refuse "pacs" without a PACS URL, so pacs is non-null then.
 */
export function createConfiguredImageStore(options: {
  kind: ImageStoreKind;
  storageDir: string;
  pacs: { dicomWebUrl: string; credentials: { username: string; password: string } | null } | null;
  /** Orthanc's REST API (ORTHANC_URL), for films ingested from the PACS */
  orthanc?: { url: string; credentials: { username: string; password: string } | null } | null;
  /** the limits uploads were decoded under (the gateway's UPLOAD_MAX_*), so that a put never refuses what they let in */
  limits?: Partial<ImageLimits>;
}): ImageStore {
  const disk = createLocalDiskImageStore({ root: options.storageDir });
  if (options.kind === "disk") return disk;
  if (!options.pacs) throw new TypeError("IMAGE_STORE=pacs needs a PACS URL");
  const client = createDicomWebClient({ baseUrl: options.pacs.dicomWebUrl, credentials: options.pacs.credentials, timeoutMs: 15_000 });
  const originals = options.orthanc
    ? createOrthancRest({ url: options.orthanc.url, credentials: options.orthanc.credentials, timeoutMs: 15_000 })
    : null;
  return createPacsImageStore({ client, fallback: disk, originals, ...(options.limits ? { limits: options.limits } : {}) });
}
