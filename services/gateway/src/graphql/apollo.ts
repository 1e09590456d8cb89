// Apollo Server 5, driven directly from Node's http server (see http/graphql.ts). Adds:
// - a gate: an operation without credentials may only call public root fields (`login`);
// - the cost limit (needs the variables, so it runs once the operation is resolved) and the depth limit;
// - logging of unexpected errors with their error id and the operation's context (formatError masks them).
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, Kind, validate, type GraphQLSchema, type OperationDefinitionNode } from "graphql";
import type { GatewayContext } from "./context.ts";
import { PUBLIC_ROOT_FIELDS } from "../auth/policy.ts";
import { costLimitRule, depthLimitRule } from "./validation.ts";
import { errorIdOf, formatError, isClientError, unauthenticated } from "./errors.ts";
import type { Logger } from "../logger.ts";

/** Root field names an operation selects (through fragments on the root type). */
export function rootFieldNames(operation: OperationDefinitionNode, fragments: Map<string, OperationDefinitionNode["selectionSet"]>): string[] {
  const names: string[] = [];
  const visit = (set: OperationDefinitionNode["selectionSet"], seen: Set<string>) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) names.push(sel.name.value);
      else if (sel.kind === Kind.INLINE_FRAGMENT) visit(sel.selectionSet, seen);
      else if (!seen.has(sel.name.value)) {
        const frag = fragments.get(sel.name.value);
        if (frag) visit(frag, new Set([...seen, sel.name.value]));
      }
    }
  };
  visit(operation.selectionSet, new Set());
  return names;
}

export function operationTypeName(operation: OperationDefinitionNode): string {
  return operation.operation === "query" ? "Query" : operation.operation === "mutation" ? "Mutation" : "Subscription";
}

/** Throws UNAUTHENTICATED unless every root field is public (or `__typename`). */
export function assertAllowedWithoutCredentials(operation: OperationDefinitionNode, document: { definitions: readonly unknown[] }) {
  const fragments = new Map<string, OperationDefinitionNode["selectionSet"]>();
  for (const def of document.definitions as { kind: string; name?: { value: string }; selectionSet?: OperationDefinitionNode["selectionSet"] }[]) {
    if (def.kind === Kind.FRAGMENT_DEFINITION && def.name && def.selectionSet) fragments.set(def.name.value, def.selectionSet);
  }
  const type = operationTypeName(operation);
  const fields = rootFieldNames(operation, fragments);
  const allowed = fields.length > 0 && fields.every((f) => f === "__typename" || PUBLIC_ROOT_FIELDS.has(`${type}.${f}`));
  if (!allowed) throw unauthenticated();
}

export function costErrors(schema: GraphQLSchema, document: Parameters<typeof validate>[1], maxCost: number, variables: Record<string, unknown>) {
  return validate(schema, document, [costLimitRule(maxCost, variables)]);
}

export function createApollo(schema: GraphQLSchema, options: { maxDepth: number; maxCost: number; introspection: boolean; logger: Logger }) {
  const { logger } = options;
  const gate: ApolloServerPlugin<GatewayContext> = {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operation, document, request }) {
          if (!operation) return;
          if (!contextValue.principal) assertAllowedWithoutCredentials(operation, document);
          const errors = costErrors(schema, document, options.maxCost, request.variables ?? {});
          if (errors.length > 0) {
            const first = errors[0]!;
            throw new GraphQLError(first.message, { extensions: { ...first.extensions, http: { status: 400 } } });
          }
        },
        async didEncounterErrors({ errors, contextValue, operationName, request }) {
          for (const error of errors) {
            if (isClientError(error)) continue;
            const original = error.originalError ?? error;
            logger.error("unexpected GraphQL error", {
              errorId: errorIdOf(error),
              requestId: contextValue.requestId,
              actor: contextValue.principal?.actor ?? null,
              tenantId: contextValue.principal?.tenantId ?? null,
              operationName: operationName ?? request.operationName ?? null,
              path: error.path,
              error: original,
            });
          }
        },
      };
    },
  };
  return new ApolloServer<GatewayContext>({
    schema,
    introspection: options.introspection,
    validationRules: [depthLimitRule(options.maxDepth)],
    formatError,
    includeStacktraceInErrorResponses: false,
    plugins: [gate],
    // Apollo's default CSRF prevention stays on: browsers can only reach us with JSON POSTs or preflighted GETs.
  });
}
