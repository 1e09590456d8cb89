// Model versions: activate (one ACTIVE version per model name; the previous one is retired) and retire.
// Model versions are platform-wide (not tenant data); the audit event is recorded in the admin's tenant.
import { NotFoundError } from "../../../../lib/errors/index.ts";
import type { Db } from "./db.ts";
import { writeAudit } from "./audit.ts";
import { InvalidStateError, TX_OPTIONS } from "./reviews.ts";
import type { ModelVersionModel } from "../graphql/models.ts";

export async function setModelStatus(
  db: Db,
  id: string,
  target: "ACTIVE" | "RETIRED",
  who: { tenantId: string; actor: string },
): Promise<ModelVersionModel> {
  return db.$transaction(async (tx) => {
    const model = await tx.modelVersion.findUnique({ where: { id } });
    if (!model) throw new NotFoundError("ModelVersion", id, { field: "id" });
    if (model.status === target) {
      throw new InvalidStateError(`Model ${model.name} ${model.version} is already ${target}.`, "id");
    }
    let retired: string[] = [];
    if (target === "ACTIVE") {
      const previous = await tx.modelVersion.findMany({ where: { name: model.name, status: "ACTIVE", id: { not: id } } });
      retired = previous.map((m) => m.id);
      if (retired.length) await tx.modelVersion.updateMany({ where: { id: { in: retired } }, data: { status: "RETIRED" } });
    }
    const updated = await tx.modelVersion.update({ where: { id }, data: { status: target } });
    await writeAudit(tx, {
      tenantId: who.tenantId,
      actor: who.actor,
      action: target === "ACTIVE" ? "model.activate" : "model.retire",
      targetType: "ModelVersion",
      targetId: id,
      details: { name: model.name, version: model.version, from: model.status, retired },
    });
    return updated;
  }, TX_OPTIONS);
}
