// The query limits the gateway tests run the GraphQL layer with (the gateway's defaults, spelt out so that a test's
// expectations do not move when a default does).
import type { QueryLimits } from "../../services/gateway/src/graphql/limits/preflight.ts";

export const TEST_QUERY_LIMITS: QueryLimits = {
  maxDocumentBytes: 16384,
  maxTokens: 2500,
  maxDepth: 10,
  maxCost: 50_000,
  maxAliases: 30,
  maxRootFields: 20,
  maxSelections: 2000,
};
