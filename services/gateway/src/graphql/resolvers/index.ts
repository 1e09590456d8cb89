// All resolvers, with the role policy applied to every root field in one place (auth/policy.ts).
import { GraphQLError } from "graphql";
import type { Resolvers } from "../../generated/resolvers.ts";
import type { GatewayContext } from "../context.ts";
import { decide } from "../../auth/policy.ts";
import { DateTimeScalar, JsonScalar } from "../scalars.ts";
import { forbidden, unauthenticated } from "../errors.ts";
import { typeResolvers } from "./types.ts";
import { queryResolvers } from "./query.ts";
import { mutationResolvers } from "./mutation.ts";
import { subscriptionResolvers } from "./subscription.ts";
import { withFleetRedaction } from "../fleet.ts";

type AnyResolver = (parent: unknown, args: unknown, ctx: GatewayContext, info: unknown) => unknown;

function check(field: string, ctx: GatewayContext): void {
  const decision = decide(field, ctx.principal?.role ?? null);
  if (decision === "unauthenticated") throw unauthenticated();
  if (decision === "forbidden") {
    throw forbidden(`Your role (${ctx.principal?.role}) may not use ${field.replace(".", " ")}.`);
  }
}

function guard(field: string, resolve: AnyResolver): AnyResolver {
  return (parent, args, ctx, info) => {
    check(field, ctx);
    return resolve(parent, args, ctx, info);
  };
}

function guardRoot<T extends object>(typeName: string, fields: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    const field = `${typeName}.${name}`;
    if (typeof value === "function") out[name] = guard(field, value as AnyResolver);
    else if (value && typeof value === "object" && "subscribe" in value) {
      const sub = value as { subscribe: AnyResolver; resolve?: AnyResolver };
      out[name] = { ...sub, subscribe: guard(field, sub.subscribe) };
    } else throw new GraphQLError(`resolver ${field} has an unexpected shape`);
  }
  return out as T;
}

export function buildResolvers(): Resolvers<GatewayContext> {
  return withFleetRedaction({
    DateTime: DateTimeScalar,
    JSON: JsonScalar,
    ...typeResolvers,
    Query: guardRoot("Query", queryResolvers),
    Mutation: guardRoot("Mutation", mutationResolvers),
    Subscription: guardRoot("Subscription", subscriptionResolvers),
  });
}
