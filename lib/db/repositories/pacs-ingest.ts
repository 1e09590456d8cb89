// DICOM in (issue 15): the AE-title → tenant mapping, the watcher's /changes cursor and the ingest log.
import type { AnalysisTask, PacsIngestLog, PacsSource, PrismaClient } from "../generated/client.ts";
import { isUniqueViolation } from "../client.ts";

export type IngestOutcome = "INGESTED" | "SKIPPED";

export interface IngestLogInput {
  orthancId: string;
  tenantId: string | null;
  callingAet: string | null;
  outcome: IngestOutcome;
  reason?: string | null;
  studyId?: string | null;
  imageId?: string | null;
}

export interface PacsSourceInput {
  tenantId: string;
  callingAet: string;
  tasks: AnalysisTask[];
  question?: string | null;
}

export function createPacsIngestRepository(prisma: PrismaClient) {
  return {
    /** Adds or replaces the mapping of a calling AE title (AE titles are unique across tenants). */
    upsertSource: (input: PacsSourceInput): Promise<PacsSource> =>
      prisma.pacsSource.upsert({
        where: { callingAet: input.callingAet },
        create: { ...input, question: input.question ?? null },
        update: { tenantId: input.tenantId, tasks: input.tasks, question: input.question ?? null },
      }),
    /** As upsertSource, for a tenant's own request: null (nothing written) when another tenant holds the title. */
    claimSource: (input: PacsSourceInput): Promise<PacsSource | null> =>
      prisma.$transaction(async (tx) => {
        const existing = await tx.pacsSource.findUnique({ where: { callingAet: input.callingAet } });
        if (existing && existing.tenantId !== input.tenantId) return null;
        const data = { tasks: input.tasks, question: input.question ?? null };
        return existing
          ? tx.pacsSource.update({ where: { id: existing.id }, data })
          : tx.pacsSource.create({ data: { ...data, tenantId: input.tenantId, callingAet: input.callingAet } });
      }),
    listSources: (tenantId: string) => prisma.pacsSource.findMany({ where: { tenantId }, orderBy: { callingAet: "asc" } }),
    findSource: (callingAet: string) => prisma.pacsSource.findUnique({ where: { callingAet } }),
    async readCursor(id: string): Promise<number> {
      const row = await prisma.pacsIngestCursor.findUnique({ where: { id } });
      return row ? Number(row.lastSeq) : 0;
    },
    async writeCursor(id: string, lastSeq: number): Promise<void> {
      await prisma.pacsIngestCursor.upsert({
        where: { id },
        create: { id, lastSeq: BigInt(lastSeq) },
        update: { lastSeq: BigInt(lastSeq) },
      });
    },
    /**
     * Takes or renews the lease on a feed for ttlMs: true when `holder` has it now (it held it, or the last holder's
     * expired). One statement, so two replicas cannot both win.
     */
    async acquireLease(id: string, holder: string, ttlMs: number): Promise<boolean> {
      const rows = await prisma.$executeRaw`
        INSERT INTO "PacsIngestLease" ("id", "holder", "expiresAt")
        VALUES (${id}, ${holder}, now() + ${ttlMs} * interval '1 millisecond')
        ON CONFLICT ("id") DO UPDATE SET "holder" = EXCLUDED."holder", "expiresAt" = EXCLUDED."expiresAt"
        WHERE "PacsIngestLease"."holder" = EXCLUDED."holder" OR "PacsIngestLease"."expiresAt" < now()`;
      return rows === 1;
    },
    /** Gives the lease up (a stopping gateway), so a standby takes over at its next poll. */
    async releaseLease(id: string, holder: string): Promise<void> {
      await prisma.pacsIngestLease.deleteMany({ where: { id, holder } });
    },
    /** Removes a tenant's mapping of a calling AE title; false when the tenant has no such mapping. */
    async removeSource(tenantId: string, callingAet: string): Promise<boolean> {
      return (await prisma.pacsSource.deleteMany({ where: { tenantId, callingAet } })).count === 1;
    },
    /**
     * Claims an Orthanc instance for the tenant whose API key stores it by STOW-RS, before it is forwarded: "claimed"
     * (new), "mine" (this tenant claimed it before: a resend), "other" (another tenant holds it; nothing written).
     */
    async claimStow(
      orthancId: string,
      tenantId: string,
      actor: string,
      purpose: "STOW" | "UPLOAD" = "STOW",
    ): Promise<"claimed" | "mine" | "other"> {
      const inserted = await prisma.$executeRaw`
        INSERT INTO "PacsStowReceipt" ("orthancId", "tenantId", "actor", "purpose") VALUES (${orthancId}, ${tenantId}, ${actor}, ${purpose})
        ON CONFLICT ("orthancId") DO NOTHING`;
      if (inserted === 1) return "claimed";
      const row = await prisma.pacsStowReceipt.findUnique({ where: { orthancId } });
      return row?.tenantId === tenantId && row.purpose === purpose ? "mine" : "other";
    },
    /** Gives a fresh claim up when its instance never reached the PACS, so the UIDs are not held for nothing. */
    async releaseStow(orthancId: string, tenantId: string): Promise<void> {
      await prisma.pacsStowReceipt.deleteMany({ where: { orthancId, tenantId } });
    },
    /** The tenant (and who) that stored an instance over HTTP, and why; null for any other instance. */
    findStowReceipt: (orthancId: string) => prisma.pacsStowReceipt.findUnique({ where: { orthancId } }),
    /** Whether this instance was handled already (a change replayed after a restart). */
    async handled(orthancId: string): Promise<boolean> {
      return (await prisma.pacsIngestLog.count({ where: { orthancId } })) > 0;
    },
    /** Records the outcome once; a second record of the same instance is ignored (returns false). */
    async record(input: IngestLogInput): Promise<boolean> {
      try {
        await prisma.pacsIngestLog.create({ data: input });
        return true;
      } catch (error) {
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    },
    /** The tenant's log, newest first, keyset-paged by (createdAt, id). */
    /** A tenant's log, newest first; tenantId null: instances from unmapped AE titles (no tenant), for operators. */
    listLog: (tenantId: string | null, first: number, after?: { createdAt: Date; id: string } | null): Promise<PacsIngestLog[]> =>
      prisma.pacsIngestLog.findMany({
        where: {
          tenantId,
          ...(after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {}),
        },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: first,
      }),
    /** Unknown sources (no tenant): for operators. */
    listUnmapped: (first: number) =>
      prisma.pacsIngestLog.findMany({ where: { tenantId: null }, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: first }),
  };
}

export type PacsIngestRepository = ReturnType<typeof createPacsIngestRepository>;
