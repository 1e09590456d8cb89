// Radiologist reviews of AI reports (accept / amend / reject).
import type { PrismaClient, Review, ReviewAction } from "../generated/client.ts";
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
