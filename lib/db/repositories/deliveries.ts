// Deliveries: results leaving the platform (DICOM SR to the PACS, HL7 ORU^R01, FHIR push). Rows are created in the
// transaction of the event that causes them (enqueueSignOffDeliveries inside the review's transaction,
// enqueueManualSr inside sendToPacs'), so a committed review always has its deliveries and a rolled-back one never
// does. The dispatcher (lib/deliveries) claims due rows here, sends outside any transaction and records the outcome.
import { randomUUID } from "node:crypto";
import type { Delivery, DeliveryKind, PrismaClient, ReviewAction, TenantDeliverySettings } from "../generated/client.ts";
import type { DbClient } from "../client.ts";
import { recordAudit } from "./operations.ts";
import { sweepCompletions } from "./delivery-completion.ts";

/** The target name of the platform's own PACS (its URL and credentials live in the process config). */
export const PACS_TARGET = "pacs";

export type DeliverySettingsValues = Omit<TenantDeliverySettings, "tenantId" | "updatedAt" | "updatedBy">;

export const DEFAULT_DELIVERY_SETTINGS: DeliverySettingsValues = {
  srMode: "ON_SIGN_OFF",
  hl7Host: null,
  hl7Port: null,
  hl7ReceivingApplication: null,
  hl7ReceivingFacility: null,
  fhirBaseUrl: null,
};

export async function deliverySettingsOf(client: DbClient, tenantId: string): Promise<DeliverySettingsValues> {
  const row = await client.tenantDeliverySettings.findUnique({ where: { tenantId } });
  if (!row) return { ...DEFAULT_DELIVERY_SETTINGS };
  const { tenantId: _t, updatedAt: _u, updatedBy: _b, ...values } = row;
  return values;
}

export const mllpTarget = (host: string, port: number) => `mllp://${host}:${port}`;

/** Has this study already got a delivery of `kind` that is sent or still on its way (something to supersede)? */
async function hasLive(client: DbClient, tenantId: string, studyId: string, kind: DeliveryKind): Promise<boolean> {
  const row = await client.delivery.findFirst({
    where: { tenantId, studyId, kind, status: { in: ["PENDING", "SENT"] } },
    select: { id: true },
  });
  return row !== null;
}

export interface SignOffEvent {
  tenantId: string;
  studyId: string;
  reviewId: string;
  action: ReviewAction;
  actor: string;
}

/**
 * Call inside the review's transaction. ACCEPT and AMEND send what the tenant asks for (SR when srMode is
 * ON_SIGN_OFF, or ON_COMPLETION with an SR already out: the signed one supersedes it; HL7 and FHIR when
 * configured). REJECT sends only where something went out before: a superseding SR that withdraws the content,
 * a FHIR report `cancelled`, and an ORU^R01 correction whose observations are posted as wrong (OBR-25 C, OBX-11 W).
 */
export async function enqueueSignOffDeliveries(tx: DbClient, event: SignOffEvent): Promise<Delivery[]> {
  const settings = await deliverySettingsOf(tx, event.tenantId);
  const reject = event.action === "REJECT";
  const wanted: { kind: DeliveryKind; target: string }[] = [];
  const srLive = await hasLive(tx, event.tenantId, event.studyId, "SR");
  if (reject ? srLive : settings.srMode === "ON_SIGN_OFF" || (settings.srMode === "ON_COMPLETION" && srLive)) {
    wanted.push({ kind: "SR", target: PACS_TARGET });
  }
  if (settings.hl7Host && settings.hl7Port && (!reject || (await hasLive(tx, event.tenantId, event.studyId, "HL7")))) {
    wanted.push({ kind: "HL7", target: mllpTarget(settings.hl7Host, settings.hl7Port) });
  }
  if (settings.fhirBaseUrl && (!reject || (await hasLive(tx, event.tenantId, event.studyId, "FHIR")))) {
    wanted.push({ kind: "FHIR", target: settings.fhirBaseUrl });
  }
  const rows: Delivery[] = [];
  for (const w of wanted) {
    rows.push(
      await tx.delivery.create({
        data: {
          tenantId: event.tenantId,
          studyId: event.studyId,
          kind: w.kind,
          trigger: "SIGN_OFF",
          target: w.target,
          reviewId: event.reviewId,
          reviewAction: event.action,
          requestedBy: event.actor,
        },
      }),
    );
  }
  return rows;
}

/** Call inside the sendToPacs transaction: one SR delivery to the platform's PACS, audited with it. */
export async function enqueueManualSr(
  tx: DbClient,
  input: { tenantId: string; studyId: string; actor: string; requestId?: string },
): Promise<Delivery> {
  const delivery = await tx.delivery.create({
    data: {
      tenantId: input.tenantId,
      studyId: input.studyId,
      kind: "SR",
      trigger: "MANUAL",
      target: PACS_TARGET,
      requestedBy: input.actor,
    },
  });
  await recordAudit(tx, {
    tenantId: input.tenantId,
    actor: input.actor,
    action: "study.send_to_pacs",
    targetType: "Study",
    targetId: input.studyId,
    details: { deliveryId: delivery.id, ...(input.requestId ? { requestId: input.requestId } : {}) },
  });
  return delivery;
}

export interface ClaimedDelivery extends Delivery {
  leaseToken: string;
}

export interface DeliveryOutcomeSent {
  sentId: string;
  sentSeriesUid?: string | null;
  supersedesId?: string | null;
}

export function createDeliveryRepository(prisma: PrismaClient) {
  return {
    settings: (tenantId: string) => deliverySettingsOf(prisma, tenantId),
    /** Upsert the tenant's settings (validated by the caller) and audit the change in one transaction. */
    saveSettings: (tenantId: string, values: DeliverySettingsValues, actor: string) =>
      prisma.$transaction(async (tx) => {
        const row = await tx.tenantDeliverySettings.upsert({
          where: { tenantId },
          create: { tenantId, ...values, updatedBy: actor },
          update: { ...values, updatedBy: actor },
        });
        await recordAudit(tx, {
          tenantId,
          actor,
          action: "tenant.delivery_settings.update",
          targetType: "Tenant",
          targetId: tenantId,
          // the values are endpoints, not patient data
          details: { ...values },
        });
        return row;
      }),
    enqueueManualSr: (input: { tenantId: string; studyId: string; actor: string; requestId?: string }) =>
      prisma.$transaction((tx) => enqueueManualSr(tx, input)),
    listByStudyIds: async (tenantId: string, studyIds: readonly string[]): Promise<Delivery[][]> => {
      const rows = await prisma.delivery.findMany({
        where: { tenantId, studyId: { in: [...studyIds] } },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      });
      return studyIds.map((id) => rows.filter((r) => r.studyId === id));
    },
    findById: (id: string) => prisma.delivery.findUnique({ where: { id } }),
    /** COMPLETION deliveries for studies whose analyses ended within `withinMs` (lib/db/repositories/delivery-completion.ts) */
    sweepCompletions: (withinMs: number) => sweepCompletions(prisma, withinMs),
    /**
     * Take up to `limit` due PENDING rows under a lease of `leaseMs`. The row locks (FOR UPDATE SKIP LOCKED: two
     * dispatchers never take the same row, and neither waits for the other) last only this short statement; the
     * send happens after it, outside any transaction, so no transaction stays open across network I/O. A row is
     * claimable only when no older PENDING row of the same study and kind exists, so a superseding SR never
     * overtakes the one it supersedes.
     */
    async claim(limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
      const token = randomUUID();
      const rows = await prisma.$queryRaw<Delivery[]>`
        UPDATE "Delivery" SET "leaseToken" = ${token}, "leaseUntil" = now() + make_interval(secs => ${leaseMs / 1000}::float8),
          "attempts" = "attempts" + 1, "updatedAt" = now()
        WHERE "id" IN (
          SELECT d."id" FROM "Delivery" d
          WHERE d."status" = 'PENDING' AND d."nextAttemptAt" <= now() AND (d."leaseUntil" IS NULL OR d."leaseUntil" < now())
            AND NOT EXISTS (SELECT 1 FROM "Delivery" e WHERE e."studyId" = d."studyId" AND e."kind" = d."kind"
              AND e."status" = 'PENDING' AND (e."createdAt", e."id") < (d."createdAt", d."id"))
          ORDER BY d."nextAttemptAt", d."createdAt" LIMIT ${limit}
          FOR UPDATE SKIP LOCKED)
        RETURNING *`;
      return rows.map((row) => ({ ...row, leaseToken: token }));
    },
    /** Record a send; false when the lease was lost meanwhile (another dispatcher owns the row now). */
    async markSent(d: ClaimedDelivery, outcome: DeliveryOutcomeSent): Promise<boolean> {
      const { count } = await prisma.delivery.updateMany({
        where: { id: d.id, leaseToken: d.leaseToken, status: "PENDING" },
        data: {
          status: "SENT",
          sentAt: new Date(),
          sentId: outcome.sentId,
          sentSeriesUid: outcome.sentSeriesUid ?? null,
          supersedesId: outcome.supersedesId ?? null,
          lastErrorCode: null,
          lastErrorMessage: null,
          leaseToken: null,
          leaseUntil: null,
        },
      });
      return count === 1;
    },
    /** A failed attempt: back to PENDING at `retryAt`, or FAILED for good when retryAt is null. */
    async markFailed(d: ClaimedDelivery, error: { code: string; message: string }, retryAt: Date | null): Promise<boolean> {
      const { count } = await prisma.delivery.updateMany({
        where: { id: d.id, leaseToken: d.leaseToken, status: "PENDING" },
        data: {
          status: retryAt ? "PENDING" : "FAILED",
          nextAttemptAt: retryAt ?? undefined,
          lastErrorCode: error.code.slice(0, 64),
          lastErrorMessage: error.message.slice(0, 1000),
          leaseToken: null,
          leaseUntil: null,
        },
      });
      return count === 1;
    },
    /** Give a claimed row back untouched (dispatcher stopping): the attempt it was charged is returned too. */
    async release(d: ClaimedDelivery): Promise<void> {
      await prisma.delivery.updateMany({
        where: { id: d.id, leaseToken: d.leaseToken, status: "PENDING" },
        data: { leaseToken: null, leaseUntil: null, attempts: { decrement: 1 } },
      });
    },
    /** The latest SENT delivery of the same study and kind created before `d`: what a new SR supersedes. */
    predecessorOf: (d: Delivery) =>
      prisma.delivery.findFirst({
        where: {
          tenantId: d.tenantId,
          studyId: d.studyId,
          kind: d.kind,
          status: "SENT",
          createdAt: { lte: d.createdAt },
          id: { not: d.id },
        },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      }),
  };
}

export type DeliveryRepository = ReturnType<typeof createDeliveryRepository>;
