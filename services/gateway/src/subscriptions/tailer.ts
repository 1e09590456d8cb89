// This replica's reader of the transition log: it starts at the log's readable end and hands every row after
// it, in log order, to the fan-out (updates.ts), each with its cursor. It reads when woken (a local mutation,
// a Kafka event from another replica or the worker) and every pollMs as a fallback; rows held back behind a
// running older transaction are read again soon. It also prunes rows past the retention period.
import type { Position, TransitionRepository, TransitionRow } from "../../../../lib/db/repositories/transitions.ts";
import type { Analysis } from "../../../../lib/db/generated/client.ts";
import type { Repositories } from "../../../../lib/db/index.ts";

/** Reads the analyses that log rows name (the row carries its tenant; the analysis must agree). */
export type AnalysisReader = Pick<Repositories["analyses"], "findManyAnyTenant">;
import type { Logger } from "../logger.ts";
import type { AnalysisUpdateModel } from "../graphql/models.ts";
import { encodeCursor } from "./cursor.ts";
import type { AnalysisUpdates } from "./updates.ts";

export interface TailerOptions {
  pollMs: number;
  /**
   * Shortest time between two reads that wake-ups start: a wake-up after a quiet spell reads at once, and the
   * wake-ups of a burst behind it (a round of requests, jobs finishing together, their NOTIFYs and Kafka events)
   * share the next read instead of costing one each.
   */
  coalesceMs: number;
  retentionMs: number;
  pruneEveryMs: number;
}

const BATCH = 500;
const PENDING_RETRY_MS = 20;

/** Messages for log rows (rows whose analysis is gone are dropped). */
export async function toMessages(analysesOf: AnalysisReader, rows: TransitionRow[]): Promise<AnalysisUpdateModel[]> {
  if (rows.length === 0) return [];
  const analyses = await analysesOf.findManyAnyTenant([...new Set(rows.map((r) => r.analysisId))]);
  return messagesOf(rows, new Map(analyses.map((a) => [a.id, a])));
}

function messagesOf(rows: TransitionRow[], byId: Map<string, Analysis>): AnalysisUpdateModel[] {
  const messages: AnalysisUpdateModel[] = [];
  for (const row of rows) {
    const analysis = byId.get(row.analysisId);
    // the tenant check is the row's own: a row names an analysis of its tenant
    if (!analysis || analysis.tenantId !== row.tenantId) continue;
    messages.push({
      analysis,
      status: row.status,
      at: row.at,
      position: { txid: row.txid, id: row.id },
      cursor: encodeCursor(row.tenantId, row),
    });
  }
  return messages;
}

export function createTransitionTailer(deps: {
  /** reads each row with its analysis (readAfterWithAnalyses): one statement per read */
  log: TransitionRepository;
  updates: AnalysisUpdates;
  logger: Logger;
  options: TailerOptions;
}) {
  const { log, updates, logger, options } = deps;
  let position: Position | null = null;
  let running: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let lastPrune = 0;
  let healthy = false;
  let coalescing: NodeJS.Timeout | null = null;
  let lastReadAt = Number.NEGATIVE_INFINITY;

  async function readAll(): Promise<boolean> {
    for (;;) {
      // the rows and their analyses in one statement
      const { rows, pending } = await log.readAfterWithAnalyses(position!, BATCH);
      const messages = messagesOf(rows, new Map(rows.flatMap((r) => (r.analysis ? [[r.analysisId, r.analysis] as const] : []))));
      // Publishing and moving the position happen with no await between: a subscriber registering now either
      // sees these messages live or finds them in its replay (resume.ts relies on it).
      for (const message of messages) updates.publish(message);
      if (rows.length > 0) position = rows[rows.length - 1]!;
      if (rows.length < BATCH || pending) return pending;
    }
  }

  async function prune(): Promise<void> {
    if (Date.now() - lastPrune < options.pruneEveryMs) return;
    lastPrune = Date.now();
    const removed = await log.prune(new Date(Date.now() - options.retentionMs));
    if (removed > 0) logger.info("pruned analysis transitions", { removed });
  }

  function schedule(ms: number): void {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void wake(), ms);
  }

  /** One read at a time; a wake during a read makes it read again. */
  async function wake(): Promise<void> {
    if (stopped || position === null) return;
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let pending = false;
      do {
        again = false;
        lastReadAt = performance.now();
        try {
          pending = await readAll();
          await prune();
          healthy = true;
        } catch (error) {
          healthy = false;
          logger.warn("reading analysis transitions failed", { error });
        }
      } while (again && !stopped);
      schedule(pending ? PENDING_RETRY_MS : options.pollMs);
    })().finally(() => (running = null));
    return running;
  }

  return {
    async start(): Promise<void> {
      position = await log.frontier();
      healthy = true;
      updates.onChanged(() => {
        if (coalescing || stopped) return;
        const wait = lastReadAt + options.coalesceMs - performance.now();
        if (wait <= 0 && !running) {
          void wake();
          return;
        }
        coalescing = setTimeout(
          () => {
            coalescing = null;
            void wake();
          },
          Math.max(0, wait),
        );
      });
      schedule(options.pollMs);
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (coalescing) clearTimeout(coalescing);
      await running;
    },
    ready: () => healthy && !stopped,
    /** reads now and resolves when read (tests) */
    wake,
  };
}

export type TransitionTailer = ReturnType<typeof createTransitionTailer>;
