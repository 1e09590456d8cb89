// The delivery dispatcher: claims due PENDING deliveries (FOR UPDATE SKIP LOCKED plus a lease, so any number of
// gateway replicas can run one), sends each with its kind's sender, and records SENT, a retry with exponential
// backoff, or FAILED after `maxAttempts` or a final refusal. stop() stops claiming, aborts the sends in flight and
// gives their rows back untouched, so a restart sends them again: nothing is lost, and SENT is written once (a
// row's outcome is recorded only under the lease that claimed it). Receivers see at-least-once delivery; the ids
// (SR SOP Instance UID, HL7 control id, FHIR resource ids) are stable per delivery so a resend is recognisable.
import type { ClaimedDelivery, DeliveryRepository, DeliverySource } from "../db/index.ts";
import { isAppError } from "../errors/index.ts";
import type { Logger } from "../logger/index.ts";
import { SENDERS, type SendContext, type SenderConfig, type SendOutcome } from "./senders.ts";

export interface DispatcherOptions {
  pollMs: number;
  batchSize: number;
  leaseMs: number;
  maxAttempts: number;
  backoff: { initialMs: number; factor: number; maxMs: number };
  /** how often to look for studies that completed (SR on completion), and how far back */
  completionSweepMs: number;
  completionWindowMs: number;
}

export const DEFAULT_DISPATCHER_OPTIONS: DispatcherOptions = {
  pollMs: 1000,
  batchSize: 8,
  leaseMs: 120_000,
  maxAttempts: 8,
  backoff: { initialMs: 2000, factor: 2, maxMs: 300_000 },
  completionSweepMs: 10_000,
  completionWindowMs: 3_600_000,
};

export interface DispatcherDeps {
  deliveries: DeliveryRepository;
  sources: { load(tenantId: string, studyId: string): Promise<DeliverySource | null> };
  config: SenderConfig;
  logger: Logger;
  options?: Partial<DispatcherOptions>;
  /** injected by tests to replace a sender */
  senders?: Partial<Record<keyof typeof SENDERS, (ctx: SendContext) => Promise<SendOutcome>>>;
}

export interface DeliveryDispatcher {
  start(): Promise<void>;
  stop(): Promise<void>;
  ready(): boolean;
  /** look for due deliveries now (after a mutation created some) */
  wake(): void;
  /** one claim-and-send round, awaited (tests) */
  runOnce(): Promise<number>;
}

class Aborted extends Error {}

export function backoffMs(attempts: number, backoff: DispatcherOptions["backoff"]): number {
  return Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** Math.max(0, attempts - 1));
}

export function createDeliveryDispatcher(deps: DispatcherDeps): DeliveryDispatcher {
  const options = { ...DEFAULT_DISPATCHER_OPTIONS, ...deps.options };
  const senders = { ...SENDERS, ...deps.senders };
  const { deliveries, logger } = deps;
  let running = false;
  // set by stop(): rounds still finishing give their rows back instead of sending (runOnce works without start())
  let stopping = false;
  let healthy = true;
  let loop: Promise<void> | null = null;
  let wakeUp: (() => void) | null = null;
  const inFlight = new Set<AbortController>();

  async function deliver(d: ClaimedDelivery): Promise<void> {
    const abort = new AbortController();
    inFlight.add(abort);
    const aborted = new Promise<never>((_, reject) => abort.signal.addEventListener("abort", () => reject(new Aborted()), { once: true }));
    aborted.catch(() => undefined);
    const log = { deliveryId: d.id, kind: d.kind, trigger: d.trigger, attempt: d.attempts };
    try {
      // claimed while stop() began: give it back rather than start a send that stop() would not wait for
      if (stopping) throw new Aborted();
      const source = await deps.sources.load(d.tenantId, d.studyId);
      if (!source) {
        await deliveries.markFailed(d, { code: "NOT_ANALYSED", message: "The study has no successful classification to send." }, null);
        return;
      }
      const [predecessor, settings] = await Promise.all([deliveries.predecessorOf(d), deliveries.settings(d.tenantId)]);
      const send = senders[d.kind];
      const outcome = await Promise.race([
        send({ delivery: d, source, predecessor, settings, config: deps.config, signal: abort.signal, now: new Date() }),
        aborted,
      ]);
      if (await deliveries.markSent(d, outcome)) logger.info("delivery sent", { ...log, sentId: outcome.sentId });
      else logger.warn("delivery sent but its lease was lost; the new holder records the outcome", log);
    } catch (error) {
      if (error instanceof Aborted) {
        await deliveries.release(d).catch(() => undefined);
        logger.info("delivery interrupted by shutdown, given back", log);
        return;
      }
      const retriable = isAppError(error) ? error.retriable : true;
      const code = isAppError(error) ? error.code : "INTERNAL";
      const message = error instanceof Error ? error.message : String(error);
      const final = !retriable || d.attempts >= options.maxAttempts;
      const retryAt = final ? null : new Date(Date.now() + backoffMs(d.attempts, options.backoff));
      await deliveries.markFailed(d, { code, message }, retryAt).catch(() => undefined);
      // a retriable failure's message is ours (timeouts, status codes, endpoints); a refusal's carries the receiver's
      // text (an HL7 MSA-3 may echo the message), so that one stays in the row, readable by the tenant, not in the log
      logger[final ? "error" : "warn"](final ? "delivery failed" : "delivery attempt failed, will retry", {
        ...log,
        code,
        ...(retriable ? { message } : {}),
        retryAt,
      });
    } finally {
      inFlight.delete(abort);
    }
  }

  let lastSweep = 0;
  async function runOnce(): Promise<number> {
    if (Date.now() - lastSweep >= options.completionSweepMs) {
      lastSweep = Date.now();
      const created = await deliveries.sweepCompletions(options.completionWindowMs);
      if (created > 0) logger.info("SR deliveries created for completed studies", { created });
    }
    const claimed = await deliveries.claim(options.batchSize, options.leaseMs);
    await Promise.all(claimed.map((d) => deliver(d)));
    return claimed.length;
  }

  async function run(): Promise<void> {
    while (running) {
      let claimed = 0;
      try {
        claimed = await runOnce();
        healthy = true;
      } catch (error) {
        healthy = false;
        logger.warn("delivery dispatcher round failed", { error: error instanceof Error ? error.message : String(error) });
      }
      if (!running) break;
      if (claimed === options.batchSize) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollMs);
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeUp = null;
    }
  }

  return {
    async start() {
      if (running) return;
      running = true;
      stopping = false;
      loop = run();
    },
    async stop() {
      if (!running) return;
      running = false;
      stopping = true;
      for (const abort of inFlight) abort.abort();
      wakeUp?.();
      await loop;
      loop = null;
    },
    ready: () => running && healthy,
    wake: () => wakeUp?.(),
    runOnce,
  };
}
