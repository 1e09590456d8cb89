// SR on completion (tenant srMode ON_COMPLETION): when every analysis of a study is terminal and its classification
// succeeded, one COMPLETION delivery of the SR per round of analyses (a retry or a new request starts a new round).
//
// enqueueCompletionDeliveries(tx, …) is meant for the transaction that ends a study's last analysis (the worker's
// result write), so the row commits with the completion. That write path belongs to the worker's owners and does not
// call it yet; until it does, the dispatcher runs sweepCompletions() every round, which finds completed studies from
// their committed state and calls the same function, each study in its own transaction. Either way nothing is lost
// (the state says what is due) and nothing is doubled (the study row lock serialises the check and the insert).
import type { PrismaClient } from "../generated/client.ts";
import type { DbClient } from "../client.ts";
import { TX_OPTIONS } from "../client.ts";
import { PACS_TARGET } from "./deliveries.ts";

/** Returns true when it created the delivery. `srMode`: the tenant's setting when the caller read it already. */
export async function enqueueCompletionDeliveries(tx: DbClient, tenantId: string, studyId: string, srMode?: string): Promise<boolean> {
  const mode = srMode ?? (await tx.tenantDeliverySettings.findUnique({ where: { tenantId }, select: { srMode: true } }))?.srMode;
  if (mode !== "ON_COMPLETION") return false;
  // concurrent completions of one study queue here; the second then sees the first's delivery
  await tx.$queryRaw`SELECT 1 FROM "Study" WHERE "id" = ${studyId} AND "tenantId" = ${tenantId} FOR UPDATE`;
  const analyses = await tx.analysis.findMany({ where: { tenantId, studyId }, select: { task: true, status: true, requestedAt: true } });
  if (analyses.length === 0 || analyses.some((a) => a.status === "QUEUED" || a.status === "RUNNING")) return false;
  if (!analyses.some((a) => a.task === "CLASSIFICATION" && a.status === "SUCCEEDED")) return false;
  const round = new Date(Math.max(...analyses.map((a) => a.requestedAt.getTime())));
  const done = await tx.delivery.findFirst({
    where: { tenantId, studyId, kind: "SR", trigger: "COMPLETION", createdAt: { gte: round } },
    select: { id: true },
  });
  if (done) return false;
  await tx.delivery.create({
    data: { tenantId, studyId, kind: "SR", trigger: "COMPLETION", target: PACS_TARGET, requestedBy: "system:completion" },
  });
  return true;
}

/**
 * Studies of ON_COMPLETION tenants whose analyses all ended within `withinMs` and that have no COMPLETION SR for
 * their latest round: each gets one (see the file comment). Returns how many were created.
 */
export async function sweepCompletions(prisma: PrismaClient, withinMs: number, limit = 50): Promise<number> {
  const candidates = await prisma.$queryRaw<{ tenantId: string; studyId: string }[]>`
    SELECT a."tenantId", a."studyId"
    FROM "Analysis" a JOIN "TenantDeliverySettings" s ON s."tenantId" = a."tenantId" AND s."srMode" = 'ON_COMPLETION'
    WHERE a."studyId" IN (SELECT r."studyId" FROM "Analysis" r WHERE r."tenantId" = a."tenantId"
      AND r."finishedAt" > now() - make_interval(secs => ${withinMs / 1000}::float8))
    GROUP BY a."tenantId", a."studyId"
    HAVING bool_and(a."status" NOT IN ('QUEUED', 'RUNNING'))
      AND bool_or(a."task" = 'CLASSIFICATION' AND a."status" = 'SUCCEEDED')
      AND NOT EXISTS (SELECT 1 FROM "Delivery" d WHERE d."studyId" = a."studyId" AND d."kind" = 'SR'
        AND d."trigger" = 'COMPLETION' AND d."createdAt" >= max(a."requestedAt"))
    LIMIT ${limit}`;
  let created = 0;
  for (const c of candidates) {
    if (await prisma.$transaction((tx) => enqueueCompletionDeliveries(tx, c.tenantId, c.studyId), TX_OPTIONS)) created += 1;
  }
  return created;
}
