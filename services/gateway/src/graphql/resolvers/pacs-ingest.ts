// DICOM in at the API: the tenant's ingest log and AE-title mappings (ADMIN, by the policy table). Every read and
// write is scoped to the caller's tenant; an AE title is unique across tenants, so one held by another tenant is a
// CONFLICT rather than a silent move of that tenant's modality to this one.
import { ConflictError, NotFoundError, ValidationError } from "../../../../../lib/errors/index.ts";
import type { MutationResolvers, QueryResolvers } from "../../generated/resolvers.ts";
import { caller, type GatewayContext } from "../context.ts";
import { withUserErrors } from "../errors.ts";
import { connection, decodeCursor, pageSize } from "../pagination.ts";

// PS3.5: an AE title is up to 16 characters of the default repertoire, no backslash or control characters
const AE_TITLE = /^[\x20-\x5b\x5d-\x7e]{1,16}$/;

async function logPage(tenantId: string | null, args: { first?: number | null; after?: string | null }, ctx: GatewayContext) {
  const limit = pageSize(args.first, 20);
  const after = decodeCursor(args.after);
  const rows = await ctx.services.repos.pacsIngest.listLog(tenantId, limit + 1, after ? { createdAt: after.at, id: after.id } : null);
  const page = connection(rows, limit, (r) => r.createdAt);
  return {
    pageInfo: page.pageInfo,
    edges: page.edges.map((e) => ({
      cursor: e.cursor,
      node: {
        id: e.node.id,
        orthancInstanceId: e.node.orthancId,
        callingAeTitle: e.node.callingAet,
        outcome: e.node.outcome === "INGESTED" ? ("INGESTED" as const) : ("SKIPPED" as const),
        reason: e.node.reason,
        studyId: e.node.studyId,
        createdAt: e.node.createdAt,
      },
    })),
  };
}

export const pacsIngestQueries: Pick<QueryResolvers<GatewayContext>, "pacsIngestLog" | "pacsSources" | "unmappedPacsInstances"> = {
  pacsIngestLog: (_p, args, ctx) => logPage(caller(ctx).tenantId, args, ctx),
  // instances from AE titles no tenant maps: no tenant to show them to, so the platform operator sees them (AE
  // title, Orthanc id and reason only: nothing of the instance was read)
  unmappedPacsInstances: (_p, args, ctx) => logPage(null, args, ctx),
  pacsSources: async (_p, _a, ctx) =>
    (await ctx.services.repos.pacsIngest.listSources(caller(ctx).tenantId)).map((s) => ({
      callingAeTitle: s.callingAet,
      tasks: s.tasks,
      question: s.question,
    })),
};

export const pacsIngestMutations: Pick<MutationResolvers<GatewayContext>, "setPacsSource" | "removePacsSource"> = {
  setPacsSource: (_p, { input }, ctx) =>
    withUserErrors({ source: null }, async () => {
      const who = caller(ctx);
      const aet = input.callingAeTitle.trim();
      if (!AE_TITLE.test(aet)) {
        throw new ValidationError("callingAeTitle must be 1 to 16 printable characters without a backslash.", {
          field: "input.callingAeTitle",
        });
      }
      const question = input.question?.trim() || null;
      if (question && question.length > 2000)
        throw new ValidationError("question is longer than 2000 characters.", { field: "input.question" });
      const tasks = [...new Set(input.tasks)];
      const saved = await ctx.services.repos.pacsIngest.claimSource({ tenantId: who.tenantId, callingAet: aet, tasks, question });
      if (!saved) throw new ConflictError("Another tenant receives from this AE title.", { field: "input.callingAeTitle" });
      await ctx.services.audit(ctx, "pacs.source.set", "PacsSource", saved.id, { callingAet: aet, tasks });
      return { source: { callingAeTitle: saved.callingAet, tasks: saved.tasks, question: saved.question }, errors: [] };
    }),
  removePacsSource: (_p, { callingAeTitle }, ctx) =>
    withUserErrors({ removed: false }, async () => {
      const who = caller(ctx);
      const aet = callingAeTitle.trim();
      // another tenant's mapping is NOT_FOUND too: which titles other tenants hold is not this tenant's to learn
      if (!AE_TITLE.test(aet) || !(await ctx.services.repos.pacsIngest.removeSource(who.tenantId, aet))) {
        throw new NotFoundError("PacsSource", undefined, { field: "callingAeTitle" });
      }
      await ctx.services.audit(ctx, "pacs.source.remove", "PacsSource", aet, { callingAet: aet });
      return { removed: true, errors: [] };
    }),
};
