// Subscriptions: the iterator comes from this replica's fan-out (fed by the transition tailer, in log order).
// With `after`, the transitions after that cursor are replayed from the log first (resume.ts), scoped to the
// caller's tenant (and study) exactly as the live channel is; the cursor is checked first (cursor.ts).
// A study of another tenant is "not found" at subscribe time. Each message is resolved with fresh loaders,
// because a subscription's context lives as long as the subscription and cached rows would go stale.
import { GraphQLError } from "graphql";
import type { SubscriptionResolvers } from "../../generated/resolvers.ts";
import { caller, loadersOf, type GatewayContext } from "../context.ts";
import { createLoaders } from "../loaders.ts";
import { studyChannel, tenantChannel } from "../../subscriptions/updates.ts";
import { checkCursor } from "../../subscriptions/cursor.ts";
import { resumeAfter } from "../../subscriptions/resume.ts";
import type { AnalysisUpdateModel } from "../models.ts";

function freshLoaders(ctx: GatewayContext) {
  ctx.loaders = createLoaders(ctx.services.repos, caller(ctx).tenantId);
}

async function updatesOf(
  ctx: GatewayContext,
  channel: string,
  scope: { tenantId: string; studyId?: string },
  after: string | null | undefined,
) {
  const { services } = ctx;
  if (after == null) return services.updates.pubsub.iterate(channel);
  const position = await checkCursor(after, scope.tenantId, services.repos.transitions, services.replay);
  return resumeAfter(
    { log: services.repos.transitions, analyses: services.repos.analyses, updates: services.updates, limits: services.replay },
    channel,
    scope,
    position,
  );
}

export const subscriptionResolvers: SubscriptionResolvers<GatewayContext> = {
  studyAnalysisUpdates: {
    subscribe: async (_p, { studyId, after }, ctx) => {
      const study = await loadersOf(ctx).study.load(studyId);
      if (!study) {
        throw new GraphQLError(`Study ${studyId} not found.`, { extensions: { code: "NOT_FOUND", argumentName: "studyId" } });
      }
      await ctx.services.audit(ctx, "study.subscribe", "Study", study.id, after ? { resumed: true } : {});
      return updatesOf(ctx, studyChannel(study.id), { tenantId: caller(ctx).tenantId, studyId: study.id }, after);
    },
    resolve: (message: AnalysisUpdateModel, _a: unknown, ctx: GatewayContext) => {
      freshLoaders(ctx);
      return message;
    },
  },
  tenantAnalysisUpdates: {
    subscribe: (_p, { after }, ctx) => {
      const tenantId = caller(ctx).tenantId;
      return updatesOf(ctx, tenantChannel(tenantId), { tenantId }, after);
    },
    resolve: (message: AnalysisUpdateModel, _a: unknown, ctx: GatewayContext) => {
      freshLoaders(ctx);
      return message;
    },
  },
};
