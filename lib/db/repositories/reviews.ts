// Radiologist reviews of AI reports (accept / amend / reject) and model versions.
import type { ModelStatus, PrismaClient, Review, ReviewAction, ModelVersion } from "../generated/client.ts";
import { InvalidStateError, NotFoundError, ValidationError } from "../../errors/index.ts";
import { TX_OPTIONS } from "../client.ts";
import { recordAudit } from "./operations.ts";
import { enqueueSignOffDeliveries } from "./deliveries.ts";
import { groupByKey } from "./pagination.ts";

export interface ReviewInput {
  tenantId: string;
  analysisId: string;
  reviewerId: string;
  /** who, as the audit trail names them */
  actor: string;
  action: ReviewAction;
  /** required for AMEND (and only accepted with it): the corrected report text */
  amendedText?: string | null;
  comment?: string | null;
}

const MAX_COMMENT = 4000;

export function createReviewRepository(prisma: PrismaClient) {
  return {
    /**
     * The one review path (API and tests): review a SUCCEEDED REPORT analysis of the tenant; ACCEPT and AMEND mark
     * the study REVIEWED; the audit event and the sign-off's deliveries commit in the same transaction. Field names are the GraphQL input's.
     */
    async create(input: ReviewInput): Promise<Review> {
      const amendedText = input.amendedText?.trim() || null;
      if (input.action === "AMEND" && !amendedText) {
        throw new ValidationError("AMEND needs the corrected report text.", { field: "input.amendedText" });
      }
      if (input.action !== "AMEND" && amendedText) {
        throw new ValidationError(`amendedText is only accepted with AMEND, not ${input.action}.`, { field: "input.amendedText" });
      }
      if ((input.comment?.length ?? 0) > MAX_COMMENT) {
        throw new ValidationError(`comment is longer than ${MAX_COMMENT} characters.`, { field: "input.comment" });
      }
      return prisma.$transaction(async (tx) => {
        const analysis = await tx.analysis.findFirst({ where: { id: input.analysisId, tenantId: input.tenantId } });
        if (!analysis) throw new NotFoundError("Analysis", input.analysisId, { field: "input.analysisId" });
        if (analysis.task !== "REPORT") {
          throw new InvalidStateError(`Analysis ${analysis.id} is a ${analysis.task} analysis; only REPORT analyses are reviewed.`, {
            field: "input.analysisId",
          });
        }
        if (analysis.status !== "SUCCEEDED") {
          throw new InvalidStateError(`Analysis ${analysis.id} is ${analysis.status}; only a finished report can be reviewed.`, {
            field: "input.analysisId",
          });
        }
        const review = await tx.review.create({
          data: {
            tenantId: input.tenantId,
            analysisId: analysis.id,
            reviewerId: input.reviewerId,
            action: input.action,
            amendedText,
            comment: input.comment ?? null,
          },
        });
        if (input.action !== "REJECT") {
          await tx.study.updateMany({ where: { id: analysis.studyId, tenantId: input.tenantId }, data: { status: "REVIEWED" } });
        }
        await recordAudit(tx, {
          tenantId: input.tenantId,
          actor: input.actor,
          action: `report.${input.action.toLowerCase()}`,
          targetType: "Analysis",
          targetId: analysis.id,
          details: { reviewId: review.id, studyId: analysis.studyId, comment: input.comment ?? null, amended: amendedText !== null },
        });
        // the sign-off's deliveries (SR, HL7, FHIR as the tenant asks) commit with it, or not at all
        await enqueueSignOffDeliveries(tx, {
          tenantId: input.tenantId,
          studyId: analysis.studyId,
          reviewId: review.id,
          action: input.action,
          actor: input.actor,
        });
        return review;
      }, TX_OPTIONS);
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
