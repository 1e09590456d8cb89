// Transactional outbox: rows are written in the same transaction as the change they announce, then published
// by lib/outbox's relay. Inserting also NOTIFYs the relay (delivered by PostgreSQL only when the transaction
// commits), so publishing latency is milliseconds; the relay also polls as a fallback.
import { randomUUID } from "node:crypto";
import type { PrismaClient } from "../generated/client.ts";
import type { DbClient } from "../client.ts";

export const OUTBOX_CHANNEL = "outbox_event";
/**
 * Advisory lock key: only one relay publishes at a time, which keeps per-key order across relays. A relay with
 * its own connection holds it as a session lock for as long as it lives (createRelaySession); a relay without
 * one takes it per call as a transaction lock (publishBatch). The two forms exclude each other.
 */
const RELAY_LOCK_KEY = 727_001;

export interface OutboxInput {
  topic: string;
  key: string;
  payload: unknown;
  eventId?: string;
  tenantId?: string | null;
  headers?: Record<string, string>;
}

export interface OutboxRow {
  id: bigint;
  eventId: string;
  topic: string;
  key: string;
  payload: unknown;
  headers: Record<string, string> | null;
  attempts: number;
}

/** Insert an outbox row on `tx` (call inside the transaction that makes the change). */
export async function enqueueOutbox(tx: DbClient, input: OutboxInput): Promise<void> {
  await tx.outboxEvent.create({
    data: {
      eventId: input.eventId ?? randomUUID(),
      tenantId: input.tenantId ?? null,
      topic: input.topic,
      key: input.key,
      payload: input.payload as object,
      headers: input.headers ?? undefined,
    },
  });
  await tx.$executeRawUnsafe(`NOTIFY ${OUTBOX_CHANNEL}`);
}

/** The slice of a node-postgres client the relay session needs (its dedicated LISTEN connection). */
export interface SessionClient {
  query<R extends object = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

type SessionRow = Omit<OutboxRow, "id"> & { id: string };

/**
 * The leading relay's statements, on its own connection. Holding the lock for the connection's life saves the
 * BEGIN, lock and COMMIT of every call, and nothing holds a transaction open across the Kafka send. A batch is
 * marked sent by the next pass's read (one statement per pass: mark the last batch, read the next), or by
 * markSent() when no pass follows soon (the relay calls it after a short delay, on flush and on stop). If the
 * connection dies the lock goes with it and another relay takes over; a batch sent but not yet marked is then
 * sent again (at least once, as before: consumers dedupe by eventId).
 */
export function createRelaySession(client: SessionClient) {
  /** ids published and not yet marked sent */
  let unmarked: string[] = [];
  const MARK = `UPDATE "OutboxEvent" SET "sentAt" = now(), "attempts" = "attempts" + 1, "lastError" = NULL WHERE "id" = ANY($1::bigint[])`;
  return {
    /** true when this connection holds (or now took) the relay lock */
    async tryLead(): Promise<boolean> {
      const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock($1::bigint) AS locked`, [RELAY_LOCK_KEY]);
      return rows[0]?.locked === true;
    },
    /** whether a published batch still waits for its mark */
    hasUnmarked: () => unmarked.length > 0,
    /** mark the published batch sent now (no-op when none) */
    async markSent(): Promise<void> {
      if (unmarked.length === 0) return;
      const ids = unmarked;
      await client.query(MARK, [ids]);
      if (unmarked === ids) unmarked = [];
    },
    /** publishBatch's contract, for the lock holder only: marked sent after `publish` returns, errors recorded */
    async publishBatch(limit: number, publish: (rows: OutboxRow[]) => Promise<void>): Promise<number> {
      const marking = unmarked;
      // The previous batch's mark rides on this read. The read's snapshot predates the mark, so the marked ids are
      // excluded by id; data-modifying CTEs run to completion whether or not the query reads them.
      const { rows } = await client.query<SessionRow>(
        // ordered by the column, not the text alias of the same name ("10" < "9")
        `WITH m AS (${MARK})
         SELECT o."id"::text AS id, o."eventId", o."topic", o."key", o."payload", o."headers", o."attempts"
         FROM "OutboxEvent" o WHERE o."sentAt" IS NULL AND o."id" <> ALL($1::bigint[]) ORDER BY o."id" LIMIT $2`,
        [marking, limit],
      );
      if (unmarked === marking) unmarked = [];
      if (rows.length === 0) return 0;
      const claimed = rows.map((row) => ({ ...row, id: BigInt(row.id) }));
      const ids = rows.map((row) => row.id);
      try {
        await publish(claimed);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        await client
          .query(`UPDATE "OutboxEvent" SET "attempts" = "attempts" + 1, "lastError" = $2 WHERE "id" = ANY($1::bigint[])`, [
            ids,
            message.slice(0, 2000),
          ])
          .catch(() => undefined);
        throw error;
      }
      unmarked = ids;
      return claimed.length;
    },
  };
}

export type RelaySession = ReturnType<typeof createRelaySession>;

export function createOutboxRepository(prisma: PrismaClient) {
  return {
    enqueue: (input: OutboxInput) => enqueueOutbox(prisma, input),
    /**
     * Take up to `limit` unsent rows (oldest first), hand them to `publish`, and mark them sent in the same
     * transaction. The advisory lock alone keeps relays apart (nothing else changes unsent rows); the rows are not
     * locked FOR UPDATE, because a row lock gives the transaction an id for the whole Kafka send, and every
     * analysis transition committed meanwhile would wait for it before subscribers may see it
     * (lib/db/repositories/transitions.ts). If publish throws, nothing is marked and the error is recorded on the rows.
     * Returns the number of rows published (0 when none, or when another relay holds the lock).
     */
    async publishBatch(limit: number, publish: (rows: OutboxRow[]) => Promise<void>): Promise<number> {
      let claimed: OutboxRow[] = [];
      try {
        return await prisma.$transaction(
          async (tx) => {
            const lock = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(${RELAY_LOCK_KEY}::bigint) AS locked`;
            if (!lock[0]?.locked) return 0;
            claimed = await tx.$queryRaw<OutboxRow[]>`
              SELECT "id", "eventId", "topic", "key", "payload", "headers", "attempts"
              FROM "OutboxEvent" WHERE "sentAt" IS NULL
              ORDER BY "id" LIMIT ${limit}`;
            if (claimed.length === 0) return 0;
            await publish(claimed);
            const ids = claimed.map((row) => row.id.toString());
            await tx.$executeRaw`UPDATE "OutboxEvent" SET "sentAt" = now(), "attempts" = "attempts" + 1, "lastError" = NULL WHERE "id" = ANY(${ids}::bigint[])`;
            return claimed.length;
          },
          { timeout: 60_000, maxWait: 10_000 },
        );
      } catch (error) {
        if (claimed.length > 0) {
          const ids = claimed.map((row) => row.id.toString());
          const message = error instanceof Error ? error.message : String(error);
          await prisma.$executeRaw`UPDATE "OutboxEvent" SET "attempts" = "attempts" + 1, "lastError" = ${message.slice(0, 2000)} WHERE "id" = ANY(${ids}::bigint[])`.catch(
            () => undefined,
          );
        }
        throw error;
      }
    },
    countUnsent: () => prisma.outboxEvent.count({ where: { sentAt: null } }),
    /** Delete rows sent before `before` (housekeeping). */
    async pruneSent(before: Date): Promise<number> {
      const { count } = await prisma.outboxEvent.deleteMany({ where: { sentAt: { lt: before } } });
      return count;
    },
  };
}
