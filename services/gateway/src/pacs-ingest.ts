// DICOM in, wired into the gateway. In the gateway rather than a service of its own because it needs exactly what
// the upload path has here: the decoder threads (limits, memory cap), the image store, the tenant de-identification
// setting and the analyses request path with its outbox. Any number of replicas may run it: the one holding the
// feed's lease follows the feed, the others stand by (lib/pacs-ingest/watcher.ts).
import type { Repositories } from "../../../lib/db/index.ts";
import type { ImageStore } from "../../../lib/images/index.ts";
import { displayFromOriginal } from "../../../lib/images/pacs-store.ts";
import { createOrthancRest } from "../../../lib/pacs-ingest/orthanc-rest.ts";
import { createPacsIngestWatcher, type PacsIngestWatcher } from "../../../lib/pacs-ingest/watcher.ts";
import type { GatewayConfig } from "./config.ts";
import { storesIdentified, uidKeyFor, type UploadDecoder } from "./http/upload-decoder.ts";
import type { Logger } from "./logger.ts";

export interface GatewayPacsIngestDeps {
  config: GatewayConfig;
  repos: Repositories;
  store: ImageStore;
  decoder: UploadDecoder;
  tenantSlug: (tenantId: string) => Promise<string | null>;
  logger: Logger;
}

export function createGatewayPacsIngest(deps: GatewayPacsIngestDeps): PacsIngestWatcher | null {
  const { config } = deps;
  if (!config.pacsIngest) return null;
  const limits = {
    maxBytes: Math.max(config.upload.maxBytes, config.pacsIngest.options.maxInstanceBytes),
    maxWidth: config.upload.maxWidth,
    maxHeight: config.upload.maxHeight,
    maxPixels: config.upload.maxPixels,
  };
  return createPacsIngestWatcher({
    orthanc: createOrthancRest({ url: config.pacsIngest.orthanc.url, credentials: config.pacsIngest.orthanc.credentials }),
    repos: deps.repos,
    // with the PACS as the image store the film is there already: its display key names it, no second instance
    ingest: (bytes, policy, orthancId) =>
      deps.decoder.pool.ingest(bytes, config.imageStore === "pacs" ? displayFromOriginal(deps.store, orthancId) : deps.store, limits, {
        deidentify: policy.deidentify,
        uidKey: policy.uidKey,
        filenameHint: "instance.dcm",
      }),
    policyFor: async (tenantId) => ({
      deidentify: !(await storesIdentified(config.upload.deidentify, tenantId, () => deps.tenantSlug(tenantId))),
      uidKey: uidKeyFor(config.upload.deidentify.uidSecret, tenantId),
    }),
    logger: deps.logger,
    options: config.pacsIngest.options,
  });
}
