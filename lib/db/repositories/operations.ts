// Audit trail, worker heartbeats and processed-message records (consumer idempotency).
import type { AuditEvent, PrismaClient, WorkerHeartbeat } from "../generated/client.ts";
import { pageQuery, toPage, type Page, type PageArgs } from "./pagination.ts";

export interface AuditInput {
  tenantId: string;
  /** "user:<id>" | "apikey:<id>" | "system:<name>" */
  actor: string;
  /** e.g. "study.read", "analysis.request", "report.review" */
  action: string;
  targetType: string;
  targetId?: string | null;
  details?: Record<string, unknown>;
}

export function createAuditRepository(prisma: PrismaClient) {
  return {
    record: (input: AuditInput): Promise<AuditEvent> =>
      prisma.auditEvent.create({ data: { ...input, targetId: input.targetId ?? null, details: (input.details ?? {}) as object } }),
    recordMany: async (inputs: AuditInput[]): Promise<number> =>
      (
        await prisma.auditEvent.createMany({
          data: inputs.map((i) => ({ ...i, targetId: i.targetId ?? null, details: (i.details ?? {}) as object })),
        })
      ).count,
    /** Newest first; cursor = id of the last event of the previous page. */
    async list(
      tenantId: string,
      args: PageArgs & { targetType?: string; targetId?: string; actor?: string; since?: Date } = {},
    ): Promise<Page<AuditEvent>> {
      const rows = await prisma.auditEvent.findMany({
        where: {
          tenantId,
          ...(args.targetType ? { targetType: args.targetType } : {}),
          ...(args.targetId ? { targetId: args.targetId } : {}),
          ...(args.actor ? { actor: args.actor } : {}),
          ...(args.since ? { at: { gte: args.since } } : {}),
        },
        orderBy: [{ at: "desc" }, { id: "desc" }],
        ...pageQuery(args),
      });
      return toPage(rows, args);
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
