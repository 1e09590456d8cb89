// Apollo Server 5, driven directly from Node's http server (see http/graphql.ts). The HTTP handler runs the
// query limits (limits/preflight.ts) before Apollo parses or validates anything; Apollo then:
// - parses with the same token cap, and has no persisted queries (every request carries its document, so
//   every document went through the limits with its variables);
// - re-checks the resolved operation with the same linear analysis before execution (a request that reached
//   Apollo some other way is still gated: credentials, page sizes, aliases, root fields, depth, cost);
// - hides schema details when introspection is off: no introspection, no "Did you mean …" suggestions;
// - logs unexpected errors with their error id and the operation's context (formatError masks them).
// Apollo's default cache-control plugin is off: it hooks every resolved field (Apollo then wraps every resolver
// of the schema) to compute cache hints that nothing uses (the schema has no @cacheControl, and every GraphQL
// response is sent with `cache-control: no-store`, http/graphql.ts); on a page of studies that was ~15 % of
// the gateway's CPU.
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { GraphQLError, Kind, type GraphQLSchema } from "graphql";
import type { GatewayContext } from "./context.ts";
import { analyseDocument } from "./limits/analyse.ts";
import { checkAnalysis, type QueryLimits } from "./limits/preflight.ts";
import { errorIdOf, formatError, isClientError, withoutSuggestions } from "./errors.ts";
import type { Logger } from "../logger.ts";

export interface ApolloOptions {
  limits: QueryLimits;
  introspection: boolean;
  logger: Logger;
}

export function createApollo(schema: GraphQLSchema, options: ApolloOptions) {
  const { logger, limits } = options;
  const gate: ApolloServerPlugin<GatewayContext> = {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operation, document, request }) {
          if (!operation) return;
          const analysis = analyseDocument(
            schema,
            { ...document, definitions: document.definitions.filter((d) => d.kind !== Kind.OPERATION_DEFINITION || d === operation) },
            request.variables ?? {},
          );
          const refused = checkAnalysis(analysis, limits, contextValue.principal !== null);
          if (refused && !refused.ok) {
            throw new GraphQLError(refused.error.message, {
              extensions: { ...refused.error.extensions, http: { status: refused.status } },
            });
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
  const hide = !options.introspection;
  return new ApolloServer<GatewayContext>({
    schema,
    introspection: options.introspection,
    hideSchemaDetailsFromClientErrors: hide,
    parseOptions: { maxTokens: limits.maxTokens },
    persistedQueries: false,
    formatError: hide ? (formatted, error) => withoutSuggestions(formatError(formatted, error)) : formatError,
    includeStacktraceInErrorResponses: false,
    // The landing page explicit, not Apollo's NODE_ENV default: with introspection on, the local sandbox page (it
    // loads Apollo's sandbox from their CDN); off, no page at all, since a sandbox that cannot introspect is of no use.
    plugins: [
      gate,
      options.introspection ? ApolloServerPluginLandingPageLocalDefault() : ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginCacheControlDisabled(),
    ],
    // Apollo's default CSRF prevention stays on: browsers can only reach us with JSON POSTs or preflighted GETs.
  });
}
