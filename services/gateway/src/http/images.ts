// GET /images/:id — the 8-bit display PNG of an image of the caller's tenant (another tenant's → 404).
// Reads are audited like other patient data reads.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ImageStore } from "../../../../lib/images/index.ts";
import { sendError } from "./body.ts";
import { UnavailableError } from "../../../../lib/errors/index.ts";
import type { Principal } from "../auth/principal.ts";
import type { Repositories } from "../../../../lib/db/index.ts";

export async function handleImage(
  req: IncomingMessage,
  res: ServerResponse,
  imageId: string,
  principal: Principal,
  deps: { repos: Pick<Repositories, "images" | "audit">; store: ImageStore },
): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD" }).end();
    return;
  }
  const image = await deps.repos.images.findById(principal.tenantId, imageId);
  if (!image) return sendError(res, 404, "NOT_FOUND", `Image ${imageId} not found.`);
  const key = image.derivedPngKey ?? (image.format === "PNG" ? image.storageKey : null);
  let bytes: Buffer | null;
  try {
    bytes = key ? await deps.store.get(key) : null;
  } catch (error) {
    // the store being away (the PACS with IMAGE_STORE=pacs) is worth a retry, not an internal error
    if (!(error instanceof UnavailableError)) throw error;
    res.setHeader("retry-after", String(error.details.retryAfterSeconds ?? 5));
    return sendError(res, 503, error.code, "The image store is unavailable; retry later.");
  }
  if (!bytes) return sendError(res, 404, "NOT_FOUND", `The display image of ${imageId} is not in the store.`);
  await deps.repos.audit.record({
    tenantId: principal.tenantId,
    actor: principal.actor,
    action: "image.read",
    targetType: "Image",
    targetId: image.id,
    details: { studyId: image.studyId },
  });
  const etag = `"${image.sha256}"`;
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, { etag }).end();
    return;
  }
  res.writeHead(200, {
    "content-type": "image/png",
    "content-length": bytes.length,
    // Patient data: the browser may keep it for this user, shared caches must not.
    "cache-control": "private, max-age=3600",
    etag,
    "x-content-type-options": "nosniff",
  });
  res.end(req.method === "HEAD" ? undefined : bytes);
}
