// WorkerHeartbeat rows for the console's worker-health view: written on start, every interval, and on stop.
// A failed beat is logged and skipped (the database may be briefly away); it never stops the worker.
import { hostname } from "node:os";
import type { HeartbeatInput } from "../../../../lib/db/repositories/operations.ts";
import type { Logger } from "../logger.ts";

export type WorkerStatus = "STARTING" | "READY" | "BUSY" | "STOPPING" | "STOPPED";

export interface HeartbeatSource {
  status(): WorkerStatus;
  inFlight(): number;
  processed(): number;
  failed(): number;
}

export function createHeartbeat(deps: {
  beat: (input: HeartbeatInput) => Promise<unknown>;
  workerId: string;
  bundle: string;
  bundleSha256: string;
  intervalMs: number;
  source: HeartbeatSource;
  logger: Logger;
}) {
  let timer: NodeJS.Timeout | null = null;
  let lastOk = false;

  async function beat(status = deps.source.status()): Promise<boolean> {
    try {
      await deps.beat({
        workerId: deps.workerId,
        host: hostname(),
        pid: process.pid,
        bundle: deps.bundle,
        bundleSha256: deps.bundleSha256,
        status,
        inFlight: deps.source.inFlight(),
        processed: deps.source.processed(),
        failed: deps.source.failed(),
      });
      lastOk = true;
    } catch (error) {
      lastOk = false;
      deps.logger.warn("heartbeat failed", { error });
    }
    return lastOk;
  }

  return {
    beat,
    /** whether the last write reached the database (part of /readyz) */
    healthy: () => lastOk,
    start() {
      if (timer) return;
      timer = setInterval(() => void beat(), deps.intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
