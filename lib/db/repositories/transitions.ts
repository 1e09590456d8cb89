// The analysis transition log behind resumable subscriptions. A row is written in the transaction that makes
// the transition (with its outbox event: one more INSERT, no extra round trip beyond it).
//
// Order. Sequence ids are handed out at INSERT, not at COMMIT: under concurrency id 6 can commit before id 5,
// so a reader that handed out "after 6" would never show 5. Rows are therefore ordered by (txid, id), txid
// being the writing transaction's id, and a reader returns only rows whose transaction is older than the
// oldest transaction still running (txid < xmin of the reader's snapshot). Every transaction with an id below
// xmin has ended, so no row can ever appear below a position once it was returned: the readable rows are a
// prefix of the final order that only grows. The cost is a lag: a row waits until every older transaction
// that had an id when it committed has ended (milliseconds here; a long transaction holds it back, never
// loses it). A commit-order counter would need a lock serialising every status change of every tenant.
import { type Analysis, type AnalysisStatus, Prisma, type PrismaClient } from "../generated/client.ts";
import type { DbClient } from "../client.ts";

/** A position in the log: (writing transaction, row id); both are 64-bit, kept as bigint. */
export interface Position {
  txid: bigint;
  id: bigint;
}

export interface TransitionRow extends Position {
  tenantId: string;
  studyId: string;
  analysisId: string;
  status: AnalysisStatus;
  at: Date;
}

export const START: Position = { txid: 0n, id: 0n };

export function comparePositions(a: Position, b: Position): number {
  if (a.txid !== b.txid) return a.txid < b.txid ? -1 : 1;
  return a.id === b.id ? 0 : a.id < b.id ? -1 : 1;
}

/** Record a transition on `tx` (call inside the transaction that makes it). */
export async function recordTransition(
  tx: DbClient,
  analysis: { id: string; tenantId: string; studyId: string },
  status: AnalysisStatus,
  at: Date,
): Promise<void> {
  await tx.analysisTransition.createMany({
    data: [{ tenantId: analysis.tenantId, studyId: analysis.studyId, analysisId: analysis.id, status, at }],
  });
}

type RawRow = {
  id: bigint;
  txid: string;
  tenantId: string;
  studyId: string;
  analysisId: string;
  status: AnalysisStatus;
  at: Date;
  stable: boolean;
};

const toRow = (r: RawRow): TransitionRow & { stable: boolean } => ({ ...r, txid: BigInt(r.txid), id: BigInt(r.id) });

export interface ReadResult {
  /** readable rows after the position, in order */
  rows: TransitionRow[];
  /** true when committed rows were held back because an older transaction is still running */
  pending: boolean;
}

/** Every column of Analysis, read beside a log row under an "a." prefix (the tailer's one statement per read). */
const ANALYSIS_COLUMNS = [
  "id",
  "tenantId",
  "studyId",
  "imageId",
  "task",
  "question",
  "status",
  "attempts",
  "errorCode",
  "errorMessage",
  "requestedAt",
  "startedAt",
  "finishedAt",
  "updatedAt",
  "idempotencyKey",
  "modelName",
  "modelVersion",
  "bundleSha256",
  "requestedBy",
  "reliabilityLevel",
  "reliabilityScore",
  "reliabilityReasons",
  "frontalProbability",
  "oodDistance",
] as const satisfies readonly (keyof Analysis)[];
const ANALYSIS_SELECT = Prisma.raw(ANALYSIS_COLUMNS.map((c) => `, a."${c}" AS "a.${c}"`).join(""));

export interface ReadWithAnalysesResult {
  /** readable rows after the position, in order, each with its analysis as of the read (null when gone) */
  rows: (TransitionRow & { analysis: Analysis | null })[];
  pending: boolean;
}

export function createTransitionRepository(prisma: PrismaClient) {
  /** Rows after `after` (optionally of one tenant / study), at most `limit`; see the order note above. */
  async function readAfter(after: Position, limit: number, scope: { tenantId?: string; studyId?: string } = {}): Promise<ReadResult> {
    return read(after, limit, scope, false);
  }

  async function read(after: Position, limit: number, scope: { tenantId?: string; studyId?: string }, joined: boolean) {
    const tenantId = scope.tenantId ?? null;
    const studyId = scope.studyId ?? null;
    // One snapshot for the xmin and the rows: the CTE is evaluated once, in the statement's snapshot.
    const raw = await prisma.$queryRaw<(RawRow & Record<string, unknown>)[]>`
      WITH s AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
      SELECT t."id", t."txid"::text AS txid, t."tenantId", t."studyId", t."analysisId", t."status", t."at", (t."txid" < s.xmin) AS stable
        ${joined ? ANALYSIS_SELECT : Prisma.empty}
      FROM "AnalysisTransition" t CROSS JOIN s ${joined ? Prisma.sql`LEFT JOIN "Analysis" a ON a."id" = t."analysisId"` : Prisma.empty}
      WHERE (t."txid", t."id") > (${after.txid.toString()}::xid8, ${after.id}::bigint)
        AND (${tenantId}::text IS NULL OR t."tenantId" = ${tenantId}::text)
        AND (${studyId}::text IS NULL OR t."studyId" = ${studyId}::text)
      ORDER BY t."txid", t."id"
      LIMIT ${limit}`;
    // Stable rows come first (lower txid); the first unstable one ends what may be handed out.
    const cut = raw.findIndex((r) => !r.stable);
    const readable = cut < 0 ? raw : raw.slice(0, cut);
    const rows = readable.map((r) => {
      const { id, txid, tenantId, studyId, analysisId, status, at } = toRow(r);
      if (!joined) return { id, txid, tenantId, studyId, analysisId, status, at };
      const analysis = r["a.id"] != null ? (Object.fromEntries(ANALYSIS_COLUMNS.map((c) => [c, r[`a.${c}`]])) as Analysis) : null;
      return { id, txid, tenantId, studyId, analysisId, status, at, analysis };
    });
    return { rows, pending: cut >= 0 };
  }

  return {
    readAfter,
    /** readAfter with each row's analysis, in the same statement (the live tailer: one round trip per read) */
    readAfterWithAnalyses: (after: Position, limit: number) => read(after, limit, {}, true) as Promise<ReadWithAnalysesResult>,

    /** The last readable position now (START when the log is empty): where a live reader begins. */
    async frontier(): Promise<Position> {
      const raw = await prisma.$queryRaw<{ txid: string; id: bigint }[]>`
        SELECT "txid"::text AS txid, "id" FROM "AnalysisTransition"
        WHERE "txid" < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY "txid" DESC, "id" DESC LIMIT 1`;
      return raw[0] ? { txid: BigInt(raw[0].txid), id: BigInt(raw[0].id) } : START;
    },

    /** The row at a position's id, to check a client's cursor (null when pruned or never written). */
    async findById(id: bigint): Promise<(TransitionRow & { stable: boolean }) | null> {
      const raw = await prisma.$queryRaw<RawRow[]>`
        SELECT "id", "txid"::text AS txid, "tenantId", "studyId", "analysisId", "status", "at",
               ("txid" < pg_snapshot_xmin(pg_current_snapshot())) AS stable
        FROM "AnalysisTransition" WHERE "id" = ${id}::bigint`;
      return raw[0] ? toRow(raw[0]) : null;
    },

    /** The smallest id still kept (null when the log is empty): below it, rows were pruned. */
    async oldestId(): Promise<bigint | null> {
      const raw = await prisma.$queryRaw<{ id: bigint | null }[]>`SELECT min("id") AS id FROM "AnalysisTransition"`;
      return raw[0]?.id == null ? null : BigInt(raw[0].id);
    },

    /** Delete rows older than `before`, at most `batch` per call; returns how many. */
    async prune(before: Date, batch = 10_000): Promise<number> {
      return prisma.$executeRaw`
        DELETE FROM "AnalysisTransition" WHERE "id" IN (
          SELECT "id" FROM "AnalysisTransition" WHERE "at" < ${before} ORDER BY "at" LIMIT ${batch})`;
    },
  };
}

export type TransitionRepository = ReturnType<typeof createTransitionRepository>;
