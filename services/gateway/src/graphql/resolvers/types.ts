// Field resolvers of the object types: renames between the database rows and the public schema, and
// nested fields through the request's DataLoaders (never a query per parent row).
import type { Resolvers } from "../../generated/resolvers.ts";
import { loadersOf, type GatewayContext } from "../context.ts";
import type { AnalysisModel, FindingModel } from "../models.ts";
import { connection, decodeCursor, pageSize } from "../pagination.ts";
import { tasksFromManifest } from "../ontology.ts";
import { studyFhirBundle } from "./fhir.ts";
import { checksInput, isCalibrated, realFilmMetrics, reliabilityOf, trainingData, validatedOnReal } from "../reliability.ts";

/** Heartbeats older than this mark a worker unhealthy. */
export const WORKER_STALE_MS = 30_000;

interface RegionJson {
  region?: unknown;
  score?: unknown;
  weight?: unknown;
}

/** `[{ region, score }]` JSON (as stored by the worker) → GroundedRegion list, strongest first. */
export function groundedRegions(value: unknown) {
  if (!Array.isArray(value)) return [];
  return (value as RegionJson[])
    .filter((r) => r && typeof r.region === "string")
    .map((r) => ({ region: r.region as string, weight: Number(r.score ?? r.weight ?? 0) }))
    .sort((a, b) => b.weight - a.weight);
}

function regionNames(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value
    .map((r) => (typeof r === "string" ? r : r && typeof r === "object" ? (r as RegionJson).region : null))
    .filter((r): r is string => typeof r === "string");
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** The newest SUCCEEDED analysis of `task` among a study's analyses (already loaded, newest first). */
function latestSucceeded(analyses: AnalysisModel[], task: AnalysisModel["task"]): AnalysisModel | undefined {
  return analyses
    .filter((a) => a.task === task && a.status === "SUCCEEDED")
    .sort((a, b) => (b.finishedAt?.getTime() ?? 0) - (a.finishedAt?.getTime() ?? 0))[0];
}

function isRegionBox(row: { label: string }): boolean {
  return row.label.startsWith("region:");
}

function heatmapValues(value: unknown): number[] {
  return Array.isArray(value) ? value.flat(2).map(Number) : [];
}

export const findingFields = {
  regions: (f: FindingModel) => groundedRegions(f.regions),
  knowledge: (f: FindingModel) => f.knowledgeSentence,
  rawProbability: (f: FindingModel) => f.rawProbability ?? null,
  validatedOnRealData: (f: FindingModel) => f.validatedOnRealData ?? false,
};

export const typeResolvers: Resolvers<GatewayContext> = {
  Viewer: {
    // `login` returns a Viewer before there is a principal (and loaders) for the request.
    tenant: async (v, _a, ctx) =>
      (ctx.loaders ? await ctx.loaders.tenant.load(v.tenantId) : await ctx.services.repos.tenants.findById(v.tenantId)) ?? {
        id: v.tenantId,
        name: v.tenantId,
      },
  },
  Patient: {
    externalId: (p) => p.mrn,
    displayName: (p) => p.name,
    studies: async (p, args, ctx) => {
      const limit = pageSize(args.first);
      const after = decodeCursor(args.after);
      const loaders = loadersOf(ctx);
      const [rows, totalCount] = await Promise.all([
        loaders.studiesOfPatient(limit, after).load(p.id),
        loaders.studyCountOfPatient.load(p.id),
      ]);
      return { ...connection(rows, limit, (s) => s.createdAt), totalCount };
    },
  },
  Study: {
    // listings read studies with their own SQL: a row without the column is an upload
    source: (s) => s.source ?? "UPLOAD",
    sourceAeTitle: (s) => s.sourceAet ?? null,
    patient: async (s, _a, ctx) => {
      const patient = await loadersOf(ctx).patient.load(s.patientId);
      if (!patient) throw new Error(`study ${s.id} has no patient ${s.patientId} in its tenant`);
      return patient;
    },
    accessionNumber: (s) => s.accession,
    images: (s, _a, ctx) => loadersOf(ctx).imagesByStudy.load(s.id),
    analyses: async (s, args, ctx) => {
      const all = await loadersOf(ctx).analysesByStudy.load(s.id);
      return all.filter((a) => (!args.task || a.task === args.task) && (!args.status || a.status === args.status));
    },
    latestFindings: async (s, _a, ctx) => {
      const loaders = loadersOf(ctx);
      const latest = latestSucceeded(await loaders.analysesByStudy.load(s.id), "CLASSIFICATION");
      return latest ? loaders.findingsByAnalysis.load(latest.id) : [];
    },
    latestReliability: async (s, _a, ctx) => {
      const latest = latestSucceeded(await loadersOf(ctx).analysesByStudy.load(s.id), "CLASSIFICATION");
      return latest ? reliabilityOf(latest) : null;
    },
    fhirBundle: (s, _a, ctx) => studyFhirBundle(s, ctx),
    deliveries: (s, _a, ctx) => loadersOf(ctx).deliveriesByStudy.load(s.id),
    latestReport: async (s, _a, ctx) => {
      const loaders = loadersOf(ctx);
      const latest = latestSucceeded(await loaders.analysesByStudy.load(s.id), "REPORT");
      return latest ? loaders.reportByAnalysis.load(latest.id) : null;
    },
  },
  Image: {
    study: async (i, _a, ctx) => {
      const study = await loadersOf(ctx).study.load(i.studyId);
      if (!study) throw new Error(`image ${i.id} has no study ${i.studyId} in its tenant`);
      return study;
    },
    bitsStored: (i) => i.bitDepth,
    viewPosition: (i) => i.view,
    url: (i) => `/images/${i.id}`,
  },
  Analysis: {
    study: async (a, _args, ctx) => {
      const study = await loadersOf(ctx).study.load(a.studyId);
      if (!study) throw new Error(`analysis ${a.id} has no study in its tenant`);
      return study;
    },
    image: async (a, _args, ctx) => {
      const image = await loadersOf(ctx).image.load(a.imageId);
      if (!image) throw new Error(`analysis ${a.id} has no image in its tenant`);
      return image;
    },
    idempotencyKey: (a) => a.idempotencyKey,
    durationMs: (a) => (a.finishedAt ? Math.max(0, a.finishedAt.getTime() - a.requestedAt.getTime()) : null),
    model: (a) =>
      a.modelName && a.modelVersion ? { name: a.modelName, version: a.modelVersion, bundleSha256: a.bundleSha256 ?? "" } : null,
    reliability: (a) => reliabilityOf(a),
    result: async (a, _args, ctx) => {
      if (a.status !== "SUCCEEDED") return null;
      const loaders = loadersOf(ctx);
      switch (a.task) {
        case "CLASSIFICATION":
          return { __typename: "ClassificationResult", analysis: a };
        case "LOCALIZATION":
          return { __typename: "LocalizationResult", analysis: a };
        case "REPORT":
          return loaders.reportByAnalysis.load(a.id);
        case "VQA":
          return loaders.vqaByAnalysis.load(a.id);
      }
    },
  },
  AnalysisResult: {
    __resolveType: (r) => r.__typename,
  },
  ClassificationResult: {
    analysisId: (r) => r.analysis.id,
    findings: (r, _a, ctx) => loadersOf(ctx).findingsByAnalysis.load(r.analysis.id),
  },
  Finding: findingFields,
  LocalizationResult: {
    analysisId: (r) => r.analysis.id,
    boxes: async (r, _a, ctx) =>
      (await loadersOf(ctx).boxesByAnalysis.load(r.analysis.id))
        .filter((b) => !isRegionBox(b))
        .map((b) => ({ label: b.label, x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2, score: b.score })),
    heatmaps: async (r, _a, ctx) =>
      (await loadersOf(ctx).heatmapsByAnalysis.load(r.analysis.id)).map((h) => ({
        label: h.label,
        width: h.heatmapWidth ?? 0,
        height: h.heatmapHeight ?? 0,
        values: heatmapValues(h.heatmap),
      })),
    // Region-head boxes are stored as LocalizationBox rows labelled "region:<name>" (see README).
    regions: async (r, _a, ctx) =>
      (await loadersOf(ctx).boxesByAnalysis.load(r.analysis.id))
        .filter(isRegionBox)
        .map((b) => ({ region: b.label.slice("region:".length), x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2 })),
  },
  Report: {
    findings: (r) => r.findingsText,
    impression: (r) => r.impressionText,
    sentences: (r) =>
      r.sentences.map((s) => ({
        index: s.index,
        section: s.section,
        text: s.text,
        regions: regionNames(s.regions),
        labels: stringArray(s.labels),
        uncertain: s.uncertain ?? false,
        uncertainReason: s.uncertain ? (s.uncertainReason ?? null) : null,
      })),
    reviews: (r, _a, ctx) => loadersOf(ctx).reviewsByAnalysis.load(r.analysisId),
    reviewStatus: async (r, _a, ctx) => (await loadersOf(ctx).reviewsByAnalysis.load(r.analysisId)).at(-1)?.action ?? null,
  },
  VqaAnswer: {
    regions: (v) => groundedRegions(v.regions),
    imageBased: (v) => v.imageBased ?? true,
    answeredFrom: (v) => (v.answeredFrom === "FINDING" ? "FINDING" : "VQA_HEAD"),
    answeredFromFinding: (v) => (v.answeredFrom === "FINDING" ? (v.answeredFromFinding ?? null) : null),
  },
  Review: {
    reviewer: async (rv, _a, ctx) => {
      const user = await loadersOf(ctx).user.load(rv.reviewerId);
      return user ?? { id: rv.reviewerId, tenantId: rv.tenantId, email: "", name: "(removed user)", role: "RADIOLOGIST" };
    },
  },
  ModelVersion: {
    trainedOn: (m) => m.trainedOn ?? "unknown",
    trainingData: (m) => trainingData(m.manifest),
    calibrated: (m) => isCalibrated(m.manifest),
    checksInput: (m) => checksInput(m.manifest),
    validatedOnRealData: (m) => validatedOnReal(m.manifest),
    realFilmMetrics: (m) => realFilmMetrics(m.manifest),
    tasks: (m) => tasksFromManifest(m.manifest) as ("CLASSIFICATION" | "LOCALIZATION" | "REPORT" | "VQA")[],
    workers: async (m, _a, ctx) => (await loadersOf(ctx).allWorkers()).filter((w) => w.bundleSha256 === m.bundleSha256),
  },
  Worker: {
    id: (w) => w.workerId,
    modelVersion: (w) => w.bundle,
    healthy: (w) => w.status !== "STOPPED" && Date.now() - w.lastSeenAt.getTime() < WORKER_STALE_MS,
  },
  AuditEvent: {
    scope: (e) => (e.tenantId === null ? "PLATFORM" : "TENANT"),
    details: (e) => e.details,
  },
  Delivery: {
    lastError: (d) => (d.lastErrorCode ? { code: d.lastErrorCode, message: d.lastErrorMessage ?? "" } : null),
    nextAttemptAt: (d) => (d.status === "PENDING" ? d.nextAttemptAt : null),
  },
  AnalysisUpdate: {
    analysis: (u) => u.analysis,
  },
};
