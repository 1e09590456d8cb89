// Mutation root fields. Expected failures (bad input, not found in the caller's tenant, conflicts, wrong
// state) come back as `errors: [UserError]`; anything else propagates and is masked by formatError.
import { randomUUID } from "node:crypto";
import { ConflictError, ForbiddenError, InvalidStateError, NotFoundError, ValidationError } from "../../../../../lib/errors/index.ts";
import { deriveIdempotencyKey } from "../../../../../lib/db/repositories/analyses.ts";
import type { MutationResolvers } from "../../generated/resolvers.ts";
import { caller, loadersOf, type GatewayContext } from "../context.ts";
import { withUserErrors } from "../errors.ts";
import { verifyUploadId } from "../../auth/upload-tokens.ts";
import type { AnalysisModel, DbAnalysisTask, ModelVersionModel } from "../models.ts";
import { sessionMutations } from "./sessions.ts";
import { accountMutations } from "./accounts.ts";
import { deliveryMutations } from "./deliveries.ts";
import { pacsIngestMutations } from "./pacs-ingest.ts";

const MAX_TEXT = 200;

function text(value: string | null | undefined, field: string, max = MAX_TEXT): string | null {
  const trimmed = value?.trim() ?? "";
  if (trimmed.length > max) throw new ValidationError(`${field} is longer than ${max} characters.`, { field });
  return trimmed || null;
}

function required(value: string | null | undefined, field: string, max = MAX_TEXT): string {
  const t = text(value, field, max);
  if (!t) throw new ValidationError(`${field} must not be empty.`, { field });
  return t;
}

/** Conflicts from a state guard (another request changed the row first) are INVALID_STATE for the client. */
function stateGuard<T>(promise: Promise<T>): Promise<T> {
  return promise.catch((error: unknown) => {
    if (error instanceof ConflictError) throw new InvalidStateError(error.message, { field: "id" });
    throw error;
  });
}

async function requestForStudy(
  ctx: GatewayContext,
  input: { studyId: string; imageId?: string | null; tasks: DbAnalysisTask[]; question?: string | null; idempotencyKey?: string | null },
): Promise<AnalysisModel[]> {
  const who = caller(ctx);
  const { services } = ctx;
  if (input.tasks.length === 0) throw new ValidationError("Ask for at least one task.", { field: "input.tasks" });
  const tasks = [...new Set(input.tasks)];
  const question = text(input.question, "input.question", 2000);
  if (tasks.includes("VQA") && !question) throw new ValidationError("A VQA analysis needs a question.", { field: "input.question" });
  const key = text(input.idempotencyKey, "input.idempotencyKey");
  const requestKey = key ?? randomUUID();
  const itemsFor = (imageId: string) =>
    tasks.map((task) => ({
      task,
      // Only VQA takes the question (the core repository also allows a label for LOCALIZATION).
      question: task === "VQA" ? question : null,
      idempotencyKey: deriveIdempotencyKey(requestKey, task, imageId, task === "VQA" ? question : null),
    }));
  if (input.imageId) {
    // The usual request (a new key, the tenant's image on that study) is one statement with its audit event; a
    // repeated key, a wrong id or a lost race writes nothing there and takes the path below, which answers it.
    const done = await services.repos.analyses.requestAtOnce({
      tenantId: who.tenantId,
      studyId: input.studyId,
      imageId: input.imageId,
      requestedBy: who.actor,
      items: itemsFor(input.imageId),
      audit: { action: "analysis.request", details: { requestId: ctx.requestId, idempotencyKey: key } },
    });
    if (done) {
      // the QUEUED transitions are in the log: read it now rather than at the next poll
      services.updates.changed();
      return done.map((o) => o.analysis);
    }
  }
  const study = await loadersOf(ctx).study.load(input.studyId);
  if (!study) throw new NotFoundError("Study", input.studyId, { field: "input.studyId" });
  let imageId = input.imageId ?? null;
  if (!imageId) {
    const images = await loadersOf(ctx).imagesByStudy.load(study.id);
    if (images.length === 0) {
      throw new ValidationError("The study has no image yet: upload one and attachImage first.", { field: "input.imageId" });
    }
    imageId = images[0]!.id;
  }
  const outcomes = await services.repos.analyses.requestAnalyses(
    itemsFor(imageId).map((item) => ({ ...item, tenantId: who.tenantId, studyId: study.id, imageId: imageId!, requestedBy: who.actor })),
  );
  const created = outcomes.filter((o) => o.created).map((o) => o.analysis);
  if (created.length) {
    await services.audit(ctx, "analysis.request", "Study", study.id, {
      analysisIds: created.map((a) => a.id),
      tasks: created.map((a) => a.task),
      idempotencyKey: key,
    });
    // the QUEUED transitions are in the log: read it now rather than at the next poll
    services.updates.changed();
  }
  return outcomes.map((o) => o.analysis);
}

/** Models serve every tenant: only a platform operator changes them (a tenant ADMIN gets FORBIDDEN as data). */
function changeModel(ctx: GatewayContext, id: string, target: "ACTIVE" | "RETIRED"): Promise<ModelVersionModel> {
  const who = caller(ctx);
  if (who.role !== "OPERATOR") {
    const verb = target === "ACTIVE" ? "activate" : "retire";
    throw new ForbiddenError(`Models are shared by every tenant: only a platform operator can ${verb} them.`, { field: "id" });
  }
  return ctx.services.repos.modelVersions.setStatus(id, target, { ...who, requestId: ctx.requestId });
}

export const mutationResolvers: MutationResolvers<GatewayContext> = {
  ...sessionMutations,
  ...accountMutations,
  ...deliveryMutations,
  ...pacsIngestMutations,

  createPatient: (_p, { input }, ctx) =>
    withUserErrors({ patient: null }, async () => {
      const who = caller(ctx);
      if (input.birthYear !== null && input.birthYear !== undefined) {
        const year = new Date().getUTCFullYear();
        if (input.birthYear < 1880 || input.birthYear > year) {
          throw new ValidationError(`birthYear must be between 1880 and ${year}.`, { field: "input.birthYear" });
        }
      }
      const patient = await ctx.services.repos.patients
        .create({
          tenantId: who.tenantId,
          mrn: required(input.externalId, "input.externalId"),
          name: text(input.displayName, "input.displayName"),
          birthYear: input.birthYear ?? null,
          sex: text(input.sex, "input.sex", 16),
        })
        .catch((error: unknown) => {
          if (error instanceof ConflictError) throw new ConflictError(error.message, { field: "input.externalId" });
          throw error;
        });
      await ctx.services.audit(ctx, "patient.create", "Patient", patient.id);
      return { patient, errors: [] };
    }),

  createStudy: (_p, { input }, ctx) =>
    withUserErrors({ study: null }, async () => {
      const who = caller(ctx);
      const accession = text(input.accessionNumber, "input.accessionNumber") ?? `ACC-${randomUUID().slice(0, 13).toUpperCase()}`;
      const study = await ctx.services.repos.studies
        .create({
          tenantId: who.tenantId,
          patientId: input.patientId,
          accession,
          description: text(input.description, "input.description", 2000),
          studyDate: input.studyDate ? new Date(input.studyDate) : null,
        })
        .catch((error: unknown) => {
          if (error instanceof NotFoundError) throw new NotFoundError("Patient", input.patientId, { field: "input.patientId" });
          if (error instanceof ConflictError) throw new ConflictError(error.message, { field: "input.accessionNumber" });
          throw error;
        });
      await ctx.services.audit(ctx, "study.create", "Study", study.id, { patientId: study.patientId });
      return { study, errors: [] };
    }),

  attachImage: (_p, { input }, ctx) =>
    withUserErrors({ image: null }, async () => {
      const who = caller(ctx);
      const upload = verifyUploadId(input.uploadId, ctx.config.auth.tokenSecret);
      // An upload of another tenant reads as unknown, like any other object of another tenant.
      if (!upload || upload.tid !== who.tenantId) {
        throw new NotFoundError("Upload", undefined, { field: "input.uploadId" });
      }
      const study = await loadersOf(ctx).study.load(input.studyId);
      if (!study) throw new NotFoundError("Study", input.studyId, { field: "input.studyId" });
      if (!(await ctx.services.store.has(upload.originalKey))) {
        throw new NotFoundError("Upload", undefined, { field: "input.uploadId" });
      }
      const { image, created } = await ctx.services.repos.images.attach({
        tenantId: who.tenantId,
        studyId: study.id,
        sha256: upload.sha256,
        format: upload.format,
        width: upload.width,
        height: upload.height,
        bytes: upload.bytes,
        bitDepth: upload.bitsStored,
        photometric: upload.photometric,
        view: upload.viewPosition,
        seriesInstanceUid: upload.seriesInstanceUid,
        sopInstanceUid: upload.sopInstanceUid,
        storageKey: upload.originalKey,
        derivedPngKey: upload.displayKey,
        analysisKey: upload.analysisKey ?? null,
      });
      if (created && upload.studyInstanceUid && !study.studyInstanceUid) {
        await ctx.services.repos.studies.setInstanceUidIfMissing(who.tenantId, study.id, upload.studyInstanceUid);
      }
      if (created) await ctx.services.audit(ctx, "image.attach", "Image", image.id, { studyId: study.id, sha256: image.sha256 });
      return { image, errors: [] };
    }),

  requestAnalyses: (_p, { input }, ctx) =>
    withUserErrors({ analyses: [] }, async () => ({ analyses: await requestForStudy(ctx, input), errors: [] })),

  askQuestion: (_p, args, ctx) =>
    withUserErrors({ analysis: null }, async () => {
      if (!args.question?.trim()) throw new ValidationError("The question must not be empty.", { field: "question" });
      const [analysis] = await requestForStudy(ctx, {
        studyId: args.studyId,
        imageId: args.imageId ?? null,
        tasks: ["VQA"],
        question: args.question,
        idempotencyKey: args.idempotencyKey ?? null,
      });
      return { analysis: analysis ?? null, errors: [] };
    }),

  retryAnalysis: (_p, { id }, ctx) =>
    withUserErrors({ analysis: null }, async () => {
      const who = caller(ctx);
      const current = await loadersOf(ctx).analysis.load(id);
      if (!current) throw new NotFoundError("Analysis", id, { field: "id" });
      if (current.status !== "FAILED" && current.status !== "CANCELLED") {
        throw new InvalidStateError(`Analysis ${id} is ${current.status}; only FAILED or CANCELLED analyses can be retried.`, {
          field: "id",
        });
      }
      const analysis = await stateGuard(ctx.services.repos.analyses.retry(who.tenantId, id));
      await ctx.services.audit(ctx, "analysis.retry", "Analysis", id, { from: current.status });
      ctx.services.updates.changed();
      return { analysis, errors: [] };
    }),

  cancelAnalysis: (_p, { id }, ctx) =>
    withUserErrors({ analysis: null }, async () => {
      const who = caller(ctx);
      const current = await loadersOf(ctx).analysis.load(id);
      if (!current) throw new NotFoundError("Analysis", id, { field: "id" });
      if (current.status !== "QUEUED" && current.status !== "RUNNING") {
        throw new InvalidStateError(`Analysis ${id} is ${current.status}; only QUEUED or RUNNING analyses can be cancelled.`, {
          field: "id",
        });
      }
      const analysis = await stateGuard(ctx.services.repos.analyses.cancel(who.tenantId, id));
      await ctx.services.audit(ctx, "analysis.cancel", "Analysis", id, { from: current.status });
      ctx.services.updates.changed();
      return { analysis, errors: [] };
    }),

  reviewReport: (_p, { input }, ctx) =>
    withUserErrors({ review: null, report: null }, async () => {
      const who = caller(ctx);
      if (who.kind !== "user") {
        throw new ValidationError("Reports are reviewed by people: log in as a radiologist (API keys cannot review).", {
          field: "input.analysisId",
        });
      }
      const review = await ctx.services.repos.reviews.create({
        tenantId: who.tenantId,
        analysisId: input.analysisId,
        reviewerId: who.id,
        actor: who.actor,
        action: input.action,
        amendedText: input.amendedText ?? null,
        comment: text(input.comment, "input.comment", 4000),
      });
      const loaders = loadersOf(ctx);
      loaders.reviewsByAnalysis.clear(input.analysisId);
      return { review, report: await loaders.reportByAnalysis.load(input.analysisId), errors: [] };
    }),

  activateModel: (_p, { id }, ctx) =>
    withUserErrors({ model: null }, async () => ({ model: await changeModel(ctx, id, "ACTIVE"), errors: [] })),

  retireModel: (_p, { id }, ctx) =>
    withUserErrors({ model: null }, async () => ({ model: await changeModel(ctx, id, "RETIRED"), errors: [] })),
};
