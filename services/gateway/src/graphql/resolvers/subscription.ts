// Subscriptions: the iterator comes from this replica's fan-out (fed by Kafka and local transitions).
// A study of another tenant is "not found" at subscribe time. Each message is resolved with fresh loaders,
// because a subscription's context lives as long as the subscription and cached rows would go stale.
import { GraphQLError } from "graphql";
import type { SubscriptionResolvers } from "../../generated/resolvers.ts";
import { caller, loadersOf, type GatewayContext } from "../context.ts";
import { createLoaders } from "../loaders.ts";
import { studyChannel, tenantChannel } from "../../subscriptions/updates.ts";
import type { AnalysisUpdateModel } from "../models.ts";

function freshLoaders(ctx: GatewayContext) {
  ctx.loaders = createLoaders(ctx.db, caller(ctx).tenantId);
}

export const subscriptionResolvers: SubscriptionResolvers<GatewayContext> = {
  studyAnalysisUpdates: {
    subscribe: async (_p, { studyId }, ctx) => {
      const study = await loadersOf(ctx).study.load(studyId);
      if (!study) {
        throw new GraphQLError(`Study ${studyId} not found.`, { extensions: { code: "NOT_FOUND", argumentName: "studyId" } });
      }
      await ctx.services.audit(ctx, "study.subscribe", "Study", study.id);
      return ctx.services.updates.pubsub.iterate(studyChannel(study.id));
    },
    resolve: (message: AnalysisUpdateModel, _a: unknown, ctx: GatewayContext) => {
      freshLoaders(ctx);
      return message;
    },
  },
  tenantAnalysisUpdates: {
    subscribe: (_p, _a, ctx) => ctx.services.updates.pubsub.iterate(tenantChannel(caller(ctx).tenantId)),
    resolve: (message: AnalysisUpdateModel, _a: unknown, ctx: GatewayContext) => {
      freshLoaders(ctx);
      return message;
    },
  },
};
