// The gateway's side of image decoding (issue 14, finding 5): one decoder pool per gateway (lib/images), an
// admission limit so that at most workers + queue uploads are in flight (bodies included: a refused upload is
// never buffered), and the de-identification policy (finding 6), which is a deployment or tenant setting.
import { createHmac } from "node:crypto";
import { createDecodePool, type DecodePool, type PoolEvent } from "../../../../lib/images/index.ts";
import type { GatewayConfig } from "../config.ts";
import type { Logger } from "../logger.ts";

export interface UploadDecoder {
  readonly pool: DecodePool;
  /** A slot for one upload, released by calling the returned function; null when every slot is taken. */
  admit(): (() => void) | null;
  /** uploads admitted and not yet answered */
  active(): number;
  retryAfterSeconds(): number;
  close(): Promise<void>;
}

export function createUploadDecoder(upload: GatewayConfig["upload"], logger: Logger): UploadDecoder {
  const { workers, queue, memoryMb, idleMs, timeoutMs, isolation } = upload.decode;
  const onEvent = (event: PoolEvent) => {
    if (event.type === "death") {
      // Only the kind of failure and the thread: an error message could quote file content.
      const fields = {
        threadId: event.threadId,
        reason: event.death.kind,
        exitCode: event.death.exitCode ?? null,
        hadUpload: event.hadJob,
      };
      if (event.hadJob) logger.warn("image decoder stopped", fields);
      else logger.debug("image decoder stopped", fields);
    } else if (event.type === "spawn") logger.debug("image decoder started", { threadId: event.threadId });
    else logger.debug("image decoder idle, stopped", { threadId: event.threadId });
  };
  const pool = createDecodePool({ workers, maxQueue: queue, memoryMb, idleMs, timeoutMs, isolation, onEvent });
  const limit = workers + queue;
  let active = 0;
  return {
    pool,
    admit() {
      if (active >= limit) return null;
      active++;
      let released = false;
      return () => {
        if (!released) active--;
        released = true;
      };
    },
    active: () => active,
    retryAfterSeconds: () => pool.retryAfterSeconds(),
    close: () => pool.close(),
  };
}

/**
 * Whether a tenant's DICOM uploads are stored as sent (identified). Only configuration decides this: a request
 * can ask for de-identification (`?deidentify=1`, the default anyway) but never turn it off.
 */
export async function storesIdentified(
  settings: GatewayConfig["upload"]["deidentify"],
  tenantId: string,
  tenantSlug: () => Promise<string | null>,
): Promise<boolean> {
  if (settings.storeIdentified) return true;
  const list = settings.storeIdentifiedTenants;
  if (list.length === 0) return false;
  if (list.includes(tenantId)) return true;
  const slug = await tenantSlug();
  return slug !== null && list.includes(slug);
}

/** Per-tenant key for UID pseudonyms: the same study keeps one UID within a tenant, and tenants cannot be linked. */
export function uidKeyFor(uidSecret: string, tenantId: string): string {
  return createHmac("sha256", uidSecret).update(`tenant:${tenantId}`).digest("hex");
}
