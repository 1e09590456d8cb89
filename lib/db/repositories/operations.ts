// Audit trail, worker heartbeats and processed-message records (consumer idempotency).
import type { AuditEvent, Prisma, PrismaClient, WorkerHeartbeat } from "../generated/client.ts";
import type { DbClient } from "../client.ts";
import type { SqlClient } from "../sql.ts";
import { afterWhere, type CursorKey } from "./pagination.ts";

export interface AuditInput {
  /** null: a platform event no tenant owns (an unknown account's failed login, operator actions) */
  tenantId: string | null;
  /** "user:<id>" | "apikey:<id>" | "system:<name>" */
  actor: string;
  /** e.g. "study.read", "analysis.request", "report.review" */
  action: string;
  targetType: string;
  targetId?: string | null;
  details?: Record<string, unknown>;
}

/**
 * The one way an audit event is written: with the request's client, or with the transaction of the change it
 * records, so that the change and its audit event commit together.
 */
export function recordAudit(client: DbClient, input: AuditInput): Promise<AuditEvent> {
  return client.auditEvent.create({ data: { ...input, targetId: input.targetId ?? null, details: (input.details ?? {}) as object } });
}

// The audit row a read writes (every page of patient data) as one named statement on the direct SQL channel: through
// Prisma's create it was a query compilation per request, a share of the gateway's CPU per page (issue 13). Same
// columns and defaults as the ORM's row; "at" is UTC like every timestamp Prisma writes.
const INSERT_AUDIT = `INSERT INTO "AuditEvent" ("id","tenantId","actor","action","targetType","targetId","at","details")
  VALUES (gen_random_uuid()::text, $1::text, $2::text, $3::text, $4::text, $5::text, (now() AT TIME ZONE 'UTC'), $6::jsonb)
  RETURNING "id","tenantId","actor","action","targetType","targetId","at","details"`;

export function createAuditRepository(prisma: PrismaClient, sql: SqlClient) {
  return {
    /** Outside a transaction (a change's audit row goes in the change's transaction: recordAudit). */
    record: async (input: AuditInput): Promise<AuditEvent> => {
      const values = [
        input.tenantId,
        input.actor,
        input.action,
        input.targetType,
        input.targetId ?? null,
        JSON.stringify(input.details ?? {}),
      ];
      const [row] = await sql.rows<AuditEvent>("audit_insert", INSERT_AUDIT, values);
      return row!;
    },
    recordMany: async (inputs: AuditInput[]): Promise<number> =>
      (
        await prisma.auditEvent.createMany({
          data: inputs.map((i) => ({ ...i, targetId: i.targetId ?? null, details: (i.details ?? {}) as object })),
        })
      ).count,
    /**
     * One page of audit events, newest first, limit + 1 rows after the key. `tenantId` null reads the platform
     * scope too (operators: their tenant's events and the platform-wide ones).
     */
    page(
      scope: { tenantId: string; platform: boolean },
      filter: { actor?: string | null; action?: string | null; targetType?: string | null; since?: Date | null },
      limit: number,
      after: CursorKey | null,
    ): Promise<AuditEvent[]> {
      const tenants: Prisma.AuditEventWhereInput = scope.platform
        ? { OR: [{ tenantId: scope.tenantId }, { tenantId: null }] }
        : { tenantId: scope.tenantId };
      return prisma.auditEvent.findMany({
        where: {
          AND: [
            tenants,
            {
              ...(filter.actor ? { actor: filter.actor } : {}),
              ...(filter.action ? { action: filter.action } : {}),
              ...(filter.targetType ? { targetType: filter.targetType } : {}),
              ...(filter.since ? { at: { gte: filter.since } } : {}),
            },
            afterWhere(after, "at") as Prisma.AuditEventWhereInput,
          ],
        },
        orderBy: [{ at: "desc" }, { id: "desc" }],
        take: limit + 1,
      });
    },
  };
}

export interface HeartbeatInput {
  workerId: string;
  host: string;
  pid?: number | null;
  bundle?: string | null;
  bundleSha256?: string | null;
  status: string;
  inFlight: number;
  processed: number;
  failed: number;
}

export function createHeartbeatRepository(prisma: PrismaClient) {
  return {
    beat: (input: HeartbeatInput): Promise<WorkerHeartbeat> =>
      prisma.workerHeartbeat.upsert({
        where: { workerId: input.workerId },
        create: { ...input, lastSeenAt: new Date() },
        update: { ...input, lastSeenAt: new Date() },
      }),
    /** Workers seen since `since` (default: all), most recent first. */
    list: (since?: Date) =>
      prisma.workerHeartbeat.findMany({ where: since ? { lastSeenAt: { gte: since } } : {}, orderBy: { lastSeenAt: "desc" } }),
    findById: (workerId: string) => prisma.workerHeartbeat.findUnique({ where: { workerId } }),
  };
}

export function createProcessedMessageRepository(prisma: PrismaClient) {
  return {
    /** Record a message as processed; false when this consumer group had processed it already. */
    async markProcessed(consumerGroup: string, messageId: string): Promise<boolean> {
      const { count } = await prisma.processedMessage.createMany({ data: [{ consumerGroup, messageId }], skipDuplicates: true });
      return count === 1;
    },
    async isProcessed(consumerGroup: string, messageId: string): Promise<boolean> {
      return (await prisma.processedMessage.findUnique({ where: { consumerGroup_messageId: { consumerGroup, messageId } } })) !== null;
    },
  };
}
