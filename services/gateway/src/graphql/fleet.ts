// What the fleet tells whom. Worker hosts and ids (`analysis-<host>-<pid>-<random>`) and model evaluation
// metrics are platform-operator information: only OPERATOR sees them (workers and models serve every tenant, so
// a tenant's ADMIN is not their operator). Every other role, tenant ADMINs and WORKER API keys included, gets
// a stable pseudonym for the worker (an HMAC of its id under the gateway's secret: the same worker keeps the
// same label across requests and replicas, and the label reveals neither host nor pid) and `metrics: null`.
// The schema is unchanged (`host` and `id` stay non-null), so the console's dashboard keeps working.
import { createHmac } from "node:crypto";
import type { Resolvers } from "../generated/resolvers.ts";
import type { GatewayContext } from "./context.ts";
import type { ModelVersionModel, WorkerModel } from "./models.ts";

export function seesFleetDetails(ctx: GatewayContext): boolean {
  return ctx.principal?.role === "OPERATOR";
}

export function workerPseudonym(secret: string, workerId: string): string {
  return `worker-${createHmac("sha256", secret).update(`worker:${workerId}`).digest("hex").slice(0, 12)}`;
}

type Field<P> = (parent: P, args: unknown, ctx: GatewayContext, info: unknown) => unknown;

/** Wraps the Worker and ModelVersion resolvers so that only operators get the real values. */
export function withFleetRedaction(resolvers: Resolvers<GatewayContext>): Resolvers<GatewayContext> {
  const worker = (resolvers.Worker ?? {}) as Record<string, Field<WorkerModel>>;
  const model = (resolvers.ModelVersion ?? {}) as Record<string, Field<ModelVersionModel>>;
  const realId: Field<WorkerModel> = worker.id ?? ((w) => w.workerId);
  const realHost: Field<WorkerModel> = worker.host ?? ((w) => w.host);
  const realMetrics: Field<ModelVersionModel> = model.metrics ?? ((m) => m.metrics);
  const pseudonym = (w: WorkerModel, ctx: GatewayContext) => workerPseudonym(ctx.config.auth.tokenSecret, w.workerId);
  return {
    ...resolvers,
    Worker: {
      ...resolvers.Worker,
      id: (w, a, ctx, info) => (seesFleetDetails(ctx) ? realId(w, a, ctx, info) : pseudonym(w, ctx)),
      host: (w, a, ctx, info) => (seesFleetDetails(ctx) ? realHost(w, a, ctx, info) : pseudonym(w, ctx)),
    } as Resolvers<GatewayContext>["Worker"],
    ModelVersion: {
      ...resolvers.ModelVersion,
      metrics: (m, a, ctx, info) => (seesFleetDetails(ctx) ? realMetrics(m, a, ctx, info) : null),
    } as Resolvers<GatewayContext>["ModelVersion"],
  };
}
