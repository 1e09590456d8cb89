// Query root fields. Tenant scoping is in every call (loaders and reads filter on the caller's tenant);
// reads of patient data are audited.
import type { QueryResolvers } from "../../generated/resolvers.ts";
import { caller, loadersOf, type GatewayContext } from "../context.ts";
import { connection, decodeCursor, pageSize } from "../pagination.ts";
import { DEFAULT_LABELS, DEFAULT_REGIONS, labelsFromManifest, regionsFromManifest } from "../ontology.ts";
import { ANALYSIS_TASKS as TASKS } from "../../../../../lib/events/index.ts";
import { badInput } from "../errors.ts";
import type { AuditEventModel } from "../models.ts";
import { deliveryQueries } from "./deliveries.ts";
import { pacsIngestQueries } from "./pacs-ingest.ts";

async function activeManifest(ctx: GatewayContext): Promise<unknown> {
  const model = await ctx.services.repos.modelVersions.findLatestActive();
  return model?.manifest ?? null;
}

export const queryResolvers: QueryResolvers<GatewayContext> = {
  ...deliveryQueries,
  ...pacsIngestQueries,
  viewer: (_p, _a, ctx) => {
    const who = caller(ctx);
    return { id: who.id, tenantId: who.tenantId, email: who.email, name: who.name, role: who.role };
  },

  patient: async (_p, { id }, ctx) => {
    const patient = await loadersOf(ctx).patient.load(id);
    if (patient) await ctx.services.audit(ctx, "patient.read", "Patient", patient.id);
    return patient;
  },

  patients: async (_p, args, ctx) => {
    const who = caller(ctx);
    const limit = pageSize(args.first);
    const after = decodeCursor(args.after);
    const [rows, totalCount] = await Promise.all([
      ctx.services.repos.listings.patients(who.tenantId, args.search, limit, after),
      ctx.services.repos.listings.countPatients(who.tenantId, args.search),
    ]);
    const page = connection(rows, limit, (p) => p.createdAt);
    for (const edge of page.edges) loadersOf(ctx).patient.prime(edge.node.id, edge.node);
    await ctx.services.audit(ctx, "patient.list", "Patient", null, {
      search: args.search ?? null,
      ids: page.edges.map((e) => e.node.id),
    });
    return { ...page, totalCount };
  },

  study: async (_p, { id }, ctx) => {
    const study = await loadersOf(ctx).study.load(id);
    if (study) await ctx.services.audit(ctx, "study.read", "Study", study.id);
    return study;
  },

  studies: async (_p, args, ctx) => {
    const who = caller(ctx);
    const limit = pageSize(args.first);
    const after = decodeCursor(args.after);
    const f = args.filter;
    if (f?.finding && (f.finding.minProbability < 0 || f.finding.minProbability > 1)) {
      throw badInput("filter.finding.minProbability must be between 0 and 1.", "filter");
    }
    const filter = {
      patientId: f?.patientId ?? null,
      search: f?.search ?? null,
      status: f?.status ?? null,
      finding: f?.finding ?? null,
    };
    const [rows, totalCount] = await Promise.all([
      ctx.services.repos.listings.studies(who.tenantId, filter, limit, after),
      ctx.services.repos.listings.countStudies(who.tenantId, filter),
    ]);
    const page = connection(rows, limit, (s) => s.createdAt);
    for (const edge of page.edges) loadersOf(ctx).study.prime(edge.node.id, edge.node);
    await ctx.services.audit(ctx, "study.list", "Study", null, {
      filter: f ?? null,
      ids: page.edges.map((e) => e.node.id),
    });
    return { ...page, totalCount };
  },

  analysis: async (_p, { id }, ctx) => {
    const analysis = await loadersOf(ctx).analysis.load(id);
    if (analysis) await ctx.services.audit(ctx, "analysis.read", "Analysis", analysis.id, { studyId: analysis.studyId });
    return analysis;
  },

  labels: async (_p, _a, ctx) => labelsFromManifest(await activeManifest(ctx)) ?? [...DEFAULT_LABELS],
  regions: async (_p, _a, ctx) => regionsFromManifest(await activeManifest(ctx)) ?? [...DEFAULT_REGIONS],

  models: (_p, _a, ctx) => ctx.services.repos.modelVersions.list(),

  workers: (_p, _a, ctx) => loadersOf(ctx).allWorkers(),

  queue: async (_p, _a, ctx) => {
    const { tenantId } = caller(ctx);
    const { open, recent, failedTotal, finishedRecently } = await ctx.services.repos.analyses.queueCounts(tenantId);
    const count = (rows: typeof open, task: string, status: string) => rows.find((r) => r.task === task && r.status === status)?.count ?? 0;
    return {
      tasks: TASKS.map((task) => ({
        task,
        queued: count(open, task, "QUEUED"),
        running: count(open, task, "RUNNING"),
        succeededLastHour: count(recent, task, "SUCCEEDED"),
        failedLastHour: count(recent, task, "FAILED"),
      })),
      deadLetters: failedTotal,
      throughputPerMinute: finishedRecently / 10,
    };
  },

  auditEvents: async (_p, args, ctx) => {
    const { tenantId, role } = caller(ctx);
    const limit = pageSize(args.first, 50);
    const after = decodeCursor(args.after);
    const f = args.filter;
    // platform-scope events (tenantId null) are the operators'; everyone reads their own tenant's
    const rows: AuditEventModel[] = await ctx.services.repos.audit.page(
      { tenantId, platform: role === "OPERATOR" },
      { actor: f?.actor, action: f?.action, targetType: f?.targetType, since: f?.since ? new Date(f.since) : null },
      limit,
      after,
    );
    return connection(rows, limit, (e) => e.at);
  },
};
