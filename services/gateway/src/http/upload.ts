// POST /upload: PNG, JPEG or DICOM Part 10, either as the raw request body (Content-Type image/png,
// image/jpeg, application/dicom or application/octet-stream) or as multipart/form-data with one file field.
// The bytes are decoded and validated by lib/images before anything is stored; a bad file gets a 4xx JSON
// error `{ error: { code, message } }` and leaves nothing behind. Success returns the upload id that
// `attachImage` takes, plus what was learned about the image.
// Decoding runs on the decoder threads of upload-decoder.ts, never on the event loop; an upload is admitted
// (a slot taken) before its body is read, and refused with 429 + Retry-After when none is free. DICOM files are
// stored de-identified unless the deployment or tenant is configured to keep them identified.
import type { IncomingMessage, ServerResponse } from "node:http";
import busboy from "busboy";
import { isImageError, type ImageStore } from "../../../../lib/images/index.ts";
import { AppError } from "../../../../lib/errors/index.ts";
import { storesIdentified, uidKeyFor, type UploadDecoder } from "./upload-decoder.ts";
import { BodyTooLarge, headerValue, readBody, sendError, sendJson } from "./body.ts";
import { issueUploadId } from "../auth/upload-tokens.ts";
import type { Principal } from "../auth/principal.ts";
import type { GatewayConfig } from "../config.ts";
import type { Logger } from "../logger.ts";

const RAW_TYPES = new Set(["image/png", "image/jpeg", "image/jpg", "application/dicom", "application/octet-stream"]);

interface ReceivedFile {
  bytes: Buffer;
  filename?: string;
  contentType?: string;
}

class UploadRejected extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function tooLarge(limit: number) {
  return new UploadRejected(413, "TOO_LARGE", `The upload exceeds the limit of ${limit} bytes.`);
}

function readMultipart(req: IncomingMessage, limit: number): Promise<ReceivedFile> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { files: 1, fileSize: limit, fields: 20, fieldSize: 4096 } });
    } catch (error) {
      reject(new UploadRejected(400, "BAD_REQUEST", `Malformed multipart request: ${(error as Error).message}`));
      return;
    }
    let file: ReceivedFile | null = null;
    let failure: UploadRejected | null = null;
    parser.on("file", (_field, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("limit", () => {
        failure = tooLarge(limit);
        chunks.length = 0;
      });
      stream.on("end", () => {
        if (!failure) file = { bytes: Buffer.concat(chunks), filename: info.filename, contentType: info.mimeType };
      });
    });
    parser.on("filesLimit", () => {
      failure ??= new UploadRejected(400, "BAD_REQUEST", "Send exactly one file per upload.");
    });
    parser.on("error", (error: Error) => reject(new UploadRejected(400, "BAD_REQUEST", `Malformed multipart request: ${error.message}`)));
    parser.on("close", () => {
      if (failure) reject(failure);
      else if (!file) reject(new UploadRejected(400, "BAD_REQUEST", "The multipart request has no file field."));
      else resolve(file);
    });
    req.pipe(parser);
  });
}

async function receive(req: IncomingMessage, limit: number): Promise<ReceivedFile> {
  const contentType = (headerValue(req, "content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (contentType === "multipart/form-data") return readMultipart(req, limit);
  if (!RAW_TYPES.has(contentType)) {
    req.resume();
    throw new UploadRejected(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      `Content-Type "${contentType || "(none)"}" is not accepted: send multipart/form-data with one file, ` +
        "or the raw bytes as image/png, image/jpeg, application/dicom or application/octet-stream.",
    );
  }
  try {
    const filename = headerValue(req, "x-filename");
    return { bytes: await readBody(req, limit), contentType, ...(filename ? { filename } : {}) };
  } catch (error) {
    if (error instanceof BodyTooLarge) throw tooLarge(limit);
    throw error;
  }
}

export interface UploadDeps {
  store: ImageStore;
  config: GatewayConfig;
  logger: Logger;
  decoder: UploadDecoder;
  /** the tenant's slug, for STORE_IDENTIFIED_DICOM_TENANTS entries given as slugs */
  tenantSlug: (tenantId: string) => Promise<string | null>;
}

export async function handleUpload(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  principal: Principal,
  deps: UploadDeps,
): Promise<void> {
  const { logger, decoder } = deps;
  // Admission before the body is read: a refused upload costs neither memory nor decoder time.
  const release = decoder.admit();
  if (!release) {
    const retryAfter = decoder.retryAfterSeconds();
    req.resume(); // discard whatever the client is still sending
    res.setHeader("connection", "close");
    res.setHeader("retry-after", String(retryAfter));
    logger.info("upload refused: decoders busy", { actor: principal.actor, retryAfterSeconds: retryAfter });
    return sendError(res, 429, "UPLOADS_BUSY", `Too many uploads are being processed; retry in ${retryAfter} s.`, {
      details: { retryAfterSeconds: retryAfter },
    });
  }
  logger.debug("upload admitted", { actor: principal.actor, active: decoder.active() });
  try {
    await receiveAndIngest(req, res, url, principal, deps);
  } finally {
    release();
  }
}

async function receiveAndIngest(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  principal: Principal,
  deps: UploadDeps,
): Promise<void> {
  const { config, logger, decoder } = deps;
  let file: ReceivedFile;
  try {
    file = await receive(req, config.upload.maxBytes);
  } catch (error) {
    if (error instanceof UploadRejected) {
      if (error.status === 413) res.setHeader("connection", "close"); // stop the client sending the rest
      return sendError(res, error.status, error.code, error.message);
    }
    throw error;
  }
  try {
    // `?deidentify=1` is accepted (and redundant); nothing a request sends can store an identified file.
    const asked = ["1", "true", "yes"].includes(url.searchParams.get("deidentify") ?? "");
    const keepIdentified =
      !asked && (await storesIdentified(config.upload.deidentify, principal.tenantId, () => deps.tenantSlug(principal.tenantId)));
    const record = await decoder.pool.ingest(
      file.bytes,
      deps.store,
      {
        maxBytes: config.upload.maxBytes,
        maxWidth: config.upload.maxWidth,
        maxHeight: config.upload.maxHeight,
        maxPixels: config.upload.maxPixels,
      },
      {
        deidentify: !keepIdentified,
        uidKey: uidKeyFor(config.upload.deidentify.uidSecret, principal.tenantId),
        ...(file.filename ? { filenameHint: file.filename } : {}),
        ...(file.contentType && file.contentType !== "application/octet-stream" ? { contentTypeHint: file.contentType } : {}),
      },
    );
    const uploadId = issueUploadId(
      {
        tid: principal.tenantId,
        sha256: record.sha256,
        format: record.format,
        width: record.width,
        height: record.height,
        bytes: record.bytes,
        bitsStored: record.bitsStored,
        photometric: record.photometric ?? null,
        originalKey: record.originalKey,
        displayKey: record.displayKey,
        analysisKey: record.analysisKey,
        viewPosition: record.dicom?.viewPosition ?? null,
        studyInstanceUid: record.dicom?.studyInstanceUid ?? null,
        seriesInstanceUid: record.dicom?.seriesInstanceUid ?? null,
        sopInstanceUid: record.dicom?.sopInstanceUid ?? null,
      },
      config.auth.tokenSecret,
      config.upload.tokenTtlSeconds,
    );
    logger.info("image uploaded", {
      actor: principal.actor,
      sha256: record.sha256,
      format: record.format,
      width: record.width,
      height: record.height,
      created: record.created,
      deidentified: record.deidentified,
      warnings: record.warnings,
    });
    sendJson(res, 200, {
      uploadId,
      sha256: record.sha256,
      format: record.format,
      width: record.width,
      height: record.height,
      bytes: record.bytes,
      bitsStored: record.bitsStored,
      photometric: record.photometric,
      viewPosition: record.dicom?.viewPosition ?? null,
      deidentified: record.deidentified,
      deidentificationProfile: record.deidentificationProfile,
      warnings: record.warnings,
    });
  } catch (error) {
    if (isImageError(error)) {
      return sendError(res, error.httpStatus, error.code, error.message, { details: error.details });
    }
    // The decoders' own refusals: busy (429) or a decoder that stopped mid-way (503), or the image store being away
    // (the PACS with IMAGE_STORE=pacs: 503 UNAVAILABLE); all worth a retry.
    if (error instanceof AppError && (error.httpStatus === 429 || error.httpStatus === 503)) {
      const retryAfter = Number(error.details.retryAfterSeconds ?? 1);
      res.setHeader("retry-after", String(retryAfter));
      logger.warn("upload not decoded or not stored", { actor: principal.actor, code: error.code });
      return sendError(res, error.httpStatus, error.code, error.message, { details: error.details });
    }
    throw error;
  }
}
