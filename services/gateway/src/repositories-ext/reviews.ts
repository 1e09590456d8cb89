// Report reviews (accept / amend / reject) with their audit event in one transaction. The study becomes
// REVIEWED once a report of it has been accepted or amended.
import { NotFoundError, ValidationError, AppError } from "../../../../lib/errors/index.ts";
import type { Db } from "./db.ts";
import { writeAudit } from "./audit.ts";
import type { ReviewModel } from "../graphql/models.ts";

export interface ReviewInput {
  tenantId: string;
  analysisId: string;
  reviewerId: string;
  actor: string;
  action: "ACCEPT" | "AMEND" | "REJECT";
  amendedText?: string | null;
  comment?: string | null;
}

/**
 * Generous limits for interactive transactions: under heavy CPU load, getting a pooled connection and
 * running BEGIN can take longer than Prisma's 2 s default maxWait, which would fail the mutation.
 */
export const TX_OPTIONS = { maxWait: 15_000, timeout: 30_000 } as const;

export class InvalidStateError extends AppError {
  constructor(message: string, field?: string) {
    super("INVALID_STATE", message, 409, false, field ? { field } : {});
  }
}

export async function reviewReport(db: Db, input: ReviewInput): Promise<ReviewModel> {
  const amendedText = input.amendedText?.trim() || null;
  if (input.action === "AMEND" && !amendedText) {
    throw new ValidationError("AMEND needs the corrected report text.", { field: "input.amendedText" });
  }
  if (input.action !== "AMEND" && amendedText) {
    throw new ValidationError(`amendedText is only accepted with AMEND, not ${input.action}.`, { field: "input.amendedText" });
  }
  if ((input.comment?.length ?? 0) > 4000) throw new ValidationError("comment is longer than 4000 characters.", { field: "input.comment" });
  return db.$transaction(async (tx) => {
    const analysis = await tx.analysis.findFirst({ where: { id: input.analysisId, tenantId: input.tenantId } });
    if (!analysis) throw new NotFoundError("Analysis", input.analysisId, { field: "input.analysisId" });
    if (analysis.task !== "REPORT") {
      throw new InvalidStateError(
        `Analysis ${analysis.id} is a ${analysis.task} analysis; only REPORT analyses are reviewed.`,
        "input.analysisId",
      );
    }
    if (analysis.status !== "SUCCEEDED") {
      throw new InvalidStateError(
        `Analysis ${analysis.id} is ${analysis.status}; only a finished report can be reviewed.`,
        "input.analysisId",
      );
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
    await writeAudit(tx, {
      tenantId: input.tenantId,
      actor: input.actor,
      action: `report.${input.action.toLowerCase()}`,
      targetType: "Analysis",
      targetId: analysis.id,
      details: { reviewId: review.id, studyId: analysis.studyId, comment: input.comment ?? null, amended: amendedText !== null },
    });
    return review;
  }, TX_OPTIONS);
}
