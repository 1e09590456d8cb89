// Radiologist reviews of AI reports (accept / amend / reject) and model versions.
import type { ModelStatus, PrismaClient, Review, ReviewAction, ModelVersion } from "../generated/client.ts";
import { ConflictError, NotFoundError, ValidationError } from "../../errors/index.ts";
import { groupByKey } from "./pagination.ts";

export interface ReviewInput {
  tenantId: string;
  analysisId: string;
  reviewerId: string;
  action: ReviewAction;
  /** required for AMEND: the corrected report text */
  amendedText?: string | null;
  comment?: string | null;
}

export function createReviewRepository(prisma: PrismaClient) {
  return {
    /** Review a SUCCEEDED REPORT analysis; ACCEPT and AMEND mark the study REVIEWED. */
    async create(input: ReviewInput): Promise<Review> {
      if (input.action === "AMEND" && !input.amendedText?.trim()) {
        throw new ValidationError("an AMEND review needs the amended text", { field: "amendedText" });
      }
      return prisma.$transaction(async (tx) => {
        const analysis = await tx.analysis.findFirst({ where: { id: input.analysisId, tenantId: input.tenantId } });
        if (!analysis) throw new NotFoundError("Analysis", input.analysisId, { field: "analysisId" });
        if (analysis.task !== "REPORT") throw new ValidationError("only REPORT analyses can be reviewed", { field: "analysisId" });
        if (analysis.status !== "SUCCEEDED") throw new ConflictError(`analysis ${analysis.id} is ${analysis.status}, not SUCCEEDED`);
        const review = await tx.review.create({
          data: {
            tenantId: input.tenantId,
            analysisId: input.analysisId,
            reviewerId: input.reviewerId,
            action: input.action,
            amendedText: input.amendedText ?? null,
            comment: input.comment ?? null,
          },
        });
        if (input.action !== "REJECT") await tx.study.update({ where: { id: analysis.studyId }, data: { status: "REVIEWED" } });
        return review;
      });
    },
    async listByAnalysisIds(tenantId: string, analysisIds: readonly string[]): Promise<Review[][]> {
      const rows = await prisma.review.findMany({
        where: { tenantId, analysisId: { in: [...analysisIds] } },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      });
      return groupByKey(analysisIds, rows, (row) => row.analysisId);
    },
  };
}

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
    list: () => prisma.modelVersion.findMany({ orderBy: [{ createdAt: "desc" }, { id: "desc" }] }),
    findById: (id: string) => prisma.modelVersion.findUnique({ where: { id } }),
    findActive: (name: string) => prisma.modelVersion.findFirst({ where: { name, status: "ACTIVE" }, orderBy: { createdAt: "desc" } }),
    /** Make one version ACTIVE and retire the other ACTIVE versions of the same model, atomically. */
    async activate(id: string): Promise<ModelVersion> {
      return prisma.$transaction(async (tx) => {
        const target = await tx.modelVersion.findUnique({ where: { id } });
        if (!target) throw new NotFoundError("ModelVersion", id);
        await tx.modelVersion.updateMany({ where: { name: target.name, status: "ACTIVE", id: { not: id } }, data: { status: "RETIRED" } });
        return tx.modelVersion.update({ where: { id }, data: { status: "ACTIVE" } });
      });
    },
    setStatus: (id: string, status: ModelStatus) => prisma.modelVersion.update({ where: { id }, data: { status } }),
  };
}
