// Model versions: registered by workers, activated and retired by platform operators. Versions are
// platform-wide (every tenant's analyses use the active one).
import type { ModelStatus, ModelVersion, PrismaClient, Role } from "../generated/client.ts";
import { InvalidStateError, NotFoundError } from "../../errors/index.ts";
import { TX_OPTIONS } from "../client.ts";

export interface ModelVersionInput {
  name: string;
  version: string;
  bundleSha256: string;
  manifest: unknown;
  metrics: unknown;
  status?: ModelStatus;
  trainedOn?: string | null;
}

export function createModelVersionRepository(prisma: PrismaClient) {
  return {
    /** Register (or update the metadata of) a model version, keyed by name + version. */
    upsert: (input: ModelVersionInput): Promise<ModelVersion> => {
      const data = {
        bundleSha256: input.bundleSha256,
        manifest: input.manifest as object,
        metrics: input.metrics as object,
        trainedOn: input.trainedOn ?? null,
        ...(input.status ? { status: input.status } : {}),
      };
      return prisma.modelVersion.upsert({
        where: { name_version: { name: input.name, version: input.version } },
        create: { name: input.name, version: input.version, ...data },
        update: data,
      });
    },
    /**
     * Registers a version if it is not there yet: the first version of a model is ACTIVE, a later one waits as
     * CANDIDATE for an operator. An existing row is left alone; `conflict` says it has other bytes (a re-export
     * without a version bump).
     */
    async register(input: Omit<ModelVersionInput, "status">): Promise<{ created: boolean; conflict: boolean }> {
      const active = await prisma.modelVersion.count({ where: { name: input.name, status: "ACTIVE" } });
      const { count } = await prisma.modelVersion.createMany({
        data: [
          {
            name: input.name,
            version: input.version,
            bundleSha256: input.bundleSha256,
            manifest: input.manifest as object,
            metrics: input.metrics as object,
            trainedOn: input.trainedOn ?? null,
            status: active > 0 ? "CANDIDATE" : "ACTIVE",
          },
        ],
        skipDuplicates: true,
      });
      if (count === 1) return { created: true, conflict: false };
      const existing = await prisma.modelVersion.findUnique({ where: { name_version: { name: input.name, version: input.version } } });
      return { created: false, conflict: existing !== null && existing.bundleSha256 !== input.bundleSha256 };
    },
    list: () => prisma.modelVersion.findMany({ orderBy: [{ createdAt: "desc" }, { id: "desc" }] }),
    findById: (id: string) => prisma.modelVersion.findUnique({ where: { id } }),
    findActive: (name: string) => prisma.modelVersion.findFirst({ where: { name, status: "ACTIVE" }, orderBy: { createdAt: "desc" } }),
    /** The most recently registered ACTIVE version of any model (the one serving results). */
    findLatestActive: () => prisma.modelVersion.findFirst({ where: { status: "ACTIVE" }, orderBy: { createdAt: "desc" } }),
    /**
     * Activate (retiring the model's other ACTIVE versions) or retire a version, audited in the same transaction
     * where both sides see it: one platform-scope row and a copy in every tenant's log. A platform operator's act:
     * the caller checks the role.
     */
    setStatus: (id: string, target: "ACTIVE" | "RETIRED", who: { tenantId: string; actor: string; role: Role; requestId?: string }) =>
      setStatusAudited(prisma, id, target, who),
  };
}

async function setStatusAudited(
  db: PrismaClient,
  id: string,
  target: "ACTIVE" | "RETIRED",
  who: { tenantId: string; actor: string; role: Role; requestId?: string },
): Promise<ModelVersion> {
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
