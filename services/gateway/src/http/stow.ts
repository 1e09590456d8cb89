// POST /dicomweb/studies: DICOM in by STOW-RS (PS3.18 10.5), the tenant named by the API key that sends it. Each
// instance is claimed for that tenant (PacsStowReceipt) and then forwarded to Orthanc; the ingest watcher finds the
// claim (a STOW-RS has no calling AE title) and ingests the instance into that tenant exactly as a C-STORE from a
// mapped AE title: limits, skip reasons, de-identification, analyses. Order of work: a slot (429 when none), the
// Content-Type, the body against its limit (413, before a byte reaches the PACS), the part count (413), then per
// part: its size, its DICOM header, the claim, the forward. A UID another tenant (or another path into the PACS)
// holds already is refused, never overwritten: one tenant cannot land an instance in, or move one out of, another's
// space. Logs carry counts and failure codes only (UIDs identify patients' studies).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Repositories } from "../../../../lib/db/index.ts";
import type { OrthancRest } from "../../../../lib/pacs-ingest/orthanc-rest.ts";
import { readStowIdentity, type StowIdentity } from "../../../../lib/pacs-ingest/stow-identity.ts";
import type { Principal } from "../auth/principal.ts";
import type { Logger } from "../logger.ts";
import { BodyTooLarge, headerValue, readBody, sendError } from "./body.ts";
import { MultipartError, parseContentType, splitRelated, type RelatedPart } from "./multipart-related.ts";

export const STOW_PATH = "/dicomweb/studies";

export interface StowLimits {
  maxBodyBytes: number;
  maxParts: number;
  maxPartBytes: number;
  /** requests reading or forwarding at once (each holds up to maxBodyBytes in memory) */
  maxConcurrent: number;
}

export interface StowDeps {
  orthanc: Pick<OrthancRest, "store" | "fileSize">;
  repos: Pick<Repositories, "pacsIngest" | "audit">;
  limits: StowLimits;
  logger: Logger;
}

/** PS3.18 Table 10.5.3-2 failure reasons, as the Failure Reason (0008,1197) of a Failed SOP Sequence item. */
export const FAILURE = {
  /** the part is not a DICOM Part 10 file with its UIDs, or the PACS could not read it */
  CANNOT_UNDERSTAND: 0xc000,
  /** the part exceeds the per-instance limit */
  OUT_OF_RESOURCES: 0xa700,
  /** the UIDs are held by another tenant, or the instance reached the PACS by another path */
  DUPLICATE_SOP_INSTANCE: 0x0111,
  /** the PACS is unreachable or failing: send again later */
  PROCESSING_FAILURE: 0x0110,
} as const;

interface Outcome {
  identity: Pick<StowIdentity, "sopClassUid" | "sopInstanceUid"> | null;
  failure: number | null;
}

const ui = (value: string | undefined) => (value ? { vr: "UI", Value: [value] } : { vr: "UI" });

/** The PS3.18 response: ReferencedSOPSequence (0008,1199) and FailedSOPSequence (0008,1198) in DICOM JSON. */
export function stowResponse(outcomes: Outcome[]): Record<string, unknown> {
  const item = (o: Outcome) => ({ "00081150": ui(o.identity?.sopClassUid), "00081155": ui(o.identity?.sopInstanceUid) });
  const stored = outcomes.filter((o) => o.failure === null);
  const failed = outcomes.filter((o) => o.failure !== null);
  return {
    ...(stored.length ? { "00081199": { vr: "SQ", Value: stored.map(item) } } : {}),
    ...(failed.length
      ? { "00081198": { vr: "SQ", Value: failed.map((o) => ({ ...item(o), "00081197": { vr: "US", Value: [o.failure] } })) } }
      : {}),
  };
}

export function createStowHandler(deps: StowDeps) {
  const { orthanc, repos, limits, logger } = deps;
  let inFlight = 0;

  async function storeOne(part: RelatedPart, principal: Principal): Promise<Outcome> {
    const type = part.headers["content-type"];
    if (type && parseContentType(type).type !== "application/dicom") return { identity: null, failure: FAILURE.CANNOT_UNDERSTAND };
    if (part.body.length > limits.maxPartBytes) return { identity: null, failure: FAILURE.OUT_OF_RESOURCES };
    const identity = readStowIdentity(part.body);
    if (!identity) return { identity: null, failure: FAILURE.CANNOT_UNDERSTAND };
    const claim = await repos.pacsIngest.claimStow(identity.orthancId, principal.tenantId, principal.actor);
    if (claim === "other") return { identity, failure: FAILURE.DUPLICATE_SOP_INSTANCE };
    const release = () => (claim === "claimed" ? repos.pacsIngest.releaseStow(identity.orthancId, principal.tenantId) : Promise.resolve());
    // claimed now, yet already in the PACS: it came by C-STORE or another path, and belongs to whoever sent it then
    if (claim === "claimed" && (await orthanc.fileSize(identity.orthancId)) !== null) {
      await release();
      return { identity, failure: FAILURE.DUPLICATE_SOP_INSTANCE };
    }
    // A PACS that does not answer throws (503 for the request). The claim stays: the PACS may hold the instance all
    // the same (a timeout after the write), and then the watcher still ingests it into this tenant; a resend by this
    // tenant is answered as usual.
    const stored = await orthanc.store(part.body);
    if (stored === "refused") {
      await release();
      return { identity, failure: FAILURE.CANNOT_UNDERSTAND };
    }
    if (stored.id !== identity.orthancId) {
      // Orthanc hashed other values than the header read here (it should not): claim the id it gave as well, so the
      // watcher still finds the tenant (it may have passed the instance already; it is then logged UNKNOWN_SOURCE)
      logger.warn("stow: Orthanc id differs from the computed one", { orthancId: stored.id });
      await repos.pacsIngest.claimStow(stored.id, principal.tenantId, principal.actor);
    }
    return { identity, failure: null };
  }

  return async function handleStow(req: IncomingMessage, res: ServerResponse, principal: Principal): Promise<void> {
    if (principal.kind !== "apikey") {
      // a PACS or modality router is configured with the tenant's API key; people upload through /upload
      req.resume();
      return sendError(res, 403, "FORBIDDEN", "STOW-RS takes an API key (x-api-key), not a session token.");
    }
    const { type, params } = parseContentType(headerValue(req, "content-type") ?? "");
    const rootType = params.type?.toLowerCase();
    if (type !== "multipart/related" || (rootType !== undefined && rootType !== "application/dicom") || !params.boundary) {
      req.resume();
      return sendError(
        res,
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        'Send multipart/related; type="application/dicom"; boundary=… with one DICOM Part 10 file per part.',
      );
    }
    if (inFlight >= limits.maxConcurrent) {
      req.resume();
      res.setHeader("connection", "close");
      res.setHeader("retry-after", "1");
      return sendError(res, 429, "BUSY", "Too many STOW-RS requests at once; send again shortly.");
    }
    inFlight++;
    try {
      let body: Buffer;
      try {
        body = await readBody(req, limits.maxBodyBytes);
      } catch (error) {
        if (!(error instanceof BodyTooLarge)) throw error;
        res.setHeader("connection", "close");
        return sendError(res, 413, "TOO_LARGE", `A STOW-RS request may carry at most ${limits.maxBodyBytes} bytes.`);
      }
      let parts: RelatedPart[];
      try {
        parts = splitRelated(body, params.boundary, limits.maxParts);
      } catch (error) {
        if (!(error instanceof MultipartError)) throw error;
        return sendError(res, error.code === "TOO_MANY_PARTS" ? 413 : 400, error.code, error.message);
      }
      if (parts.length === 0) return sendError(res, 400, "BAD_REQUEST", "The request carries no part.");
      const outcomes: Outcome[] = [];
      let pacsDown = false;
      for (const part of parts) {
        if (pacsDown) {
          outcomes.push({ identity: readStowIdentity(part.body), failure: FAILURE.PROCESSING_FAILURE });
          continue;
        }
        try {
          outcomes.push(await storeOne(part, principal));
        } catch (error) {
          if ((error as { code?: string }).code !== "ORTHANC_UNAVAILABLE") throw error;
          pacsDown = true; // the rest would wait for the same timeout: failed at once, to be sent again
          outcomes.push({ identity: readStowIdentity(part.body), failure: FAILURE.PROCESSING_FAILURE });
        }
      }
      const stored = outcomes.filter((o) => o.failure === null).length;
      const failures = outcomes.filter((o) => o.failure !== null).map((o) => o.failure!.toString(16));
      await repos.audit.record({
        tenantId: principal.tenantId,
        actor: principal.actor,
        action: "dicomweb.stow",
        targetType: "Tenant",
        targetId: principal.tenantId,
        details: { parts: parts.length, stored, failures },
      });
      logger.info("stow-rs request", { tenantId: principal.tenantId, parts: parts.length, stored, failures });
      // PS3.18: 200 all stored, 202 some, 409 none (a PACS outage: 503, worth sending again)
      const status = stored === outcomes.length ? 200 : stored > 0 ? 202 : pacsDown ? 503 : 409;
      const text = JSON.stringify(stowResponse(outcomes));
      res.writeHead(status, {
        "content-type": "application/dicom+json",
        "content-length": Buffer.byteLength(text),
        "cache-control": "no-store",
        ...(status === 503 ? { "retry-after": "30" } : {}),
      });
      res.end(text);
    } finally {
      inFlight--;
    }
  };
}
