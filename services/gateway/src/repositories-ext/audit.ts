// Audit trail writes (who read or changed patient data). Called with the request's client, or inside the
// transaction of the change it records so that the change and its audit event commit together.
import type { DbClient } from "../../../../lib/db/client.ts";
import type { AuditInput } from "../../../../lib/db/index.ts";

export type { AuditInput };

export async function writeAudit(db: DbClient, input: AuditInput): Promise<void> {
  await db.auditEvent.create({
    data: {
      tenantId: input.tenantId,
      actor: input.actor,
      action: input.action,
      targetType: input.targetType,
      targetId: input.targetId ?? null,
      details: (input.details ?? {}) as object,
    },
  });
}
