// Model versions: activate (one ACTIVE version per model name; the previous one is retired) and retire.
// Model versions are platform-wide (every tenant's analyses use the active one), so a change is a platform
// operator's (the resolver checks the role) and is audited where both sides see it, in the same transaction:
// one platform-scope row (tenantId null, read by operators) and a copy in every tenant's own audit log.
import { NotFoundError } from "../../../../lib/errors/index.ts";
import type { Db } from "./db.ts";
import { TX_OPTIONS } from "../../../../lib/db/client.ts";
import { InvalidStateError } from "../../../../lib/errors/index.ts";
import type { ModelVersionModel, Role } from "../graphql/models.ts";

export async function setModelStatus(
  db: Db,
  id: string,
  target: "ACTIVE" | "RETIRED",
  who: { tenantId: string; actor: string; role: Role; requestId?: string },
): Promise<ModelVersionModel> {
  return db.$transaction(async (tx) => {
    const model = await tx.modelVersion.findUnique({ where: { id } });
    if (!model) throw new NotFoundError("ModelVersion", id, { field: "id" });
    if (model.status === target) {
      throw new InvalidStateError(`Model ${model.name} ${model.version} is already ${target}.`, { field: "id" });
    }
    let retired: string[] = [];
    if (target === "ACTIVE") {
      const previous = await tx.modelVersion.findMany({ where: { name: model.name, status: "ACTIVE", id: { not: id } } });
      retired = previous.map((m) => m.id);
      if (retired.length) await tx.modelVersion.updateMany({ where: { id: { in: retired } }, data: { status: "RETIRED" } });
    }
    const updated = await tx.modelVersion.update({ where: { id }, data: { status: target } });
    const event = {
      actor: who.actor,
      action: target === "ACTIVE" ? "model.activate" : "model.retire",
      targetType: "ModelVersion",
      targetId: id,
    };
    const details = {
      name: model.name,
      version: model.version,
      from: model.status,
      to: target,
      retired,
      actorRole: who.role,
      actorTenantId: who.tenantId,
      requestId: who.requestId ?? null,
    };
    const platform = await tx.auditEvent.create({ data: { ...event, tenantId: null, details } });
    const tenants = await tx.tenant.findMany({ select: { id: true } });
    await tx.auditEvent.createMany({
      data: tenants.map((t) => ({ ...event, tenantId: t.id, details: { ...details, platformEventId: platform.id } })),
    });
    return updated;
  }, TX_OPTIONS);
}
