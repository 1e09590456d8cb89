// The limits every GraphQL document passes before graphql-js validates or executes it (HTTP and WebSocket):
// size in bytes → parse with a token cap → fragment cycles → one linear analysis (analyse.ts) → credentials gate
// → page sizes → aliases, root fields, selections, depth, cost. The first failure is answered with a typed code.
//
// Why our own validator and not @escape.tech/graphql-armor (3.x, maintained, declares Apollo 4/5 support):
// - its cost-limit plugin weighs fields by depth, not by page size, so it cannot see that `first: 100` costs
//   twenty times `first: 5` (finding 3 is about exactly that), nor refuse `first: -100000000`;
// - its max-depth plugin counts fragment spreads as levels and needed a 2025 fix for a bypass through its
//   fragment cache; we keep our depth semantics (fragments add no level) and memoise in one place;
// - what it adds beyond that is graphql-js's own `parse(…, { maxTokens })` and stripping "Did you mean"
//   (Apollo's hideSchemaDetailsFromClientErrors does that), so a dependency and an envelop peer buy little;
// - running before Apollo lets us refuse a document before graphql-js's specified rules (some of them
//   super-linear on hostile documents) ever see it — graphql-armor's rules run inside that validation.
import { GraphQLError, parse, type DocumentNode, type GraphQLSchema } from "graphql";
import { PUBLIC_ROOT_FIELDS } from "../../auth/policy.ts";
import { MAX_PAGE_SIZE } from "../pagination.ts";
import { analyseDocument, type DocumentAnalysis } from "./analyse.ts";

export interface QueryLimits {
  maxDocumentBytes: number;
  maxTokens: number;
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
  maxRootFields: number;
  /** field selections after fragment expansion */
  maxSelections: number;
}

export type Preflight =
  | { ok: true; document: DocumentNode; analysis: DocumentAnalysis }
  | { ok: false; status: number; error: GraphQLError; analysis?: DocumentAnalysis };

function refuse(
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
  analysis?: DocumentAnalysis,
): Preflight {
  return { ok: false, status, analysis, error: new GraphQLError(message, { extensions: { code, ...extra } }) };
}

/** Root fields an unauthenticated caller may not select. */
export function nonPublicRootFields(typeName: string, rootFields: string[]): string[] {
  return rootFields.filter((f) => f !== "__typename" && !PUBLIC_ROOT_FIELDS.has(`${typeName}.${f}`));
}

const ROOT_TYPE = { query: "Query", mutation: "Mutation", subscription: "Subscription" } as const;

/** Checks a parsed document's analysis against the limits (also used after Apollo resolved the operation). */
export function checkAnalysis(analysis: DocumentAnalysis, limits: QueryLimits, authenticated: boolean): Preflight | null {
  if (analysis.cycle) {
    return refuse(400, "FRAGMENT_CYCLE", `Fragments must not spread themselves: ${analysis.cycle.join(" → ")}.`, {}, analysis);
  }
  if (analysis.operations.length === 0) return null; // nothing to run: graphql-js reports it
  if (!authenticated) {
    for (const { operation, metrics } of analysis.operations) {
      const closed = nonPublicRootFields(ROOT_TYPE[operation.operation], metrics.rootFields);
      if (closed.length > 0 || metrics.rootFields.length === 0) {
        return refuse(
          401,
          "UNAUTHENTICATED",
          "Authentication required: send `Authorization: Bearer <token>` or `x-api-key`.",
          {},
          analysis,
        );
      }
    }
  }
  for (const { metrics: m, pageSizes } of analysis.operations) {
    const bad = pageSizes[0];
    if (bad) {
      return refuse(
        400,
        "BAD_USER_INPUT",
        `"first" must be between 1 and ${MAX_PAGE_SIZE} (got ${JSON.stringify(bad.value)}) on ${bad.field}.`,
        { argumentName: "first", field: bad.field },
        analysis,
      );
    }
    if (m.aliases > limits.maxAliases) {
      return refuse(
        400,
        "TOO_MANY_ALIASES",
        `Too many aliases: ${m.aliases} exceeds the limit of ${limits.maxAliases}.`,
        { aliases: m.aliases, maxAliases: limits.maxAliases },
        analysis,
      );
    }
    if (m.rootFieldCount > limits.maxRootFields) {
      return refuse(
        400,
        "TOO_MANY_ROOT_FIELDS",
        `Too many root fields: ${m.rootFieldCount} exceeds the limit of ${limits.maxRootFields}.`,
        { rootFields: m.rootFieldCount, maxRootFields: limits.maxRootFields },
        analysis,
      );
    }
    if (m.selections > limits.maxSelections) {
      return refuse(
        400,
        "TOO_MANY_SELECTIONS",
        `Too many field selections after expanding fragments: ${m.selections} exceeds the limit of ${limits.maxSelections}.`,
        { selections: m.selections, maxSelections: limits.maxSelections },
        analysis,
      );
    }
    if (m.depth > limits.maxDepth) {
      return refuse(
        400,
        "QUERY_TOO_DEEP",
        `Query is too deep: depth ${m.depth} exceeds the limit of ${limits.maxDepth}. Ask for fewer nested levels.`,
        { depth: m.depth, maxDepth: limits.maxDepth },
        analysis,
      );
    }
    if (m.cost > limits.maxCost) {
      return refuse(
        400,
        "QUERY_TOO_COSTLY",
        `Query is too expensive: estimated cost ${m.cost} exceeds the limit of ${limits.maxCost}. Ask for smaller pages or fewer nested lists.`,
        { cost: m.cost, maxCost: limits.maxCost },
        analysis,
      );
    }
  }
  return null;
}

/** Parses and checks a document (see the header). `source` is the `query` string of the request. */
export function preflight(
  schema: GraphQLSchema,
  source: string,
  variables: Record<string, unknown>,
  limits: QueryLimits,
  authenticated: boolean,
): Preflight {
  const bytes = Buffer.byteLength(source, "utf8");
  if (bytes > limits.maxDocumentBytes) {
    return refuse(413, "QUERY_TOO_LARGE", `The GraphQL document is ${bytes} bytes; the limit is ${limits.maxDocumentBytes}.`, {
      bytes,
      maxBytes: limits.maxDocumentBytes,
    });
  }
  let document: DocumentNode;
  try {
    document = parse(source, { maxTokens: limits.maxTokens });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/tokens/i.test(message) && /Parsing aborted/i.test(message)) {
      return refuse(400, "QUERY_TOO_MANY_TOKENS", `The GraphQL document has more than ${limits.maxTokens} tokens.`, {
        maxTokens: limits.maxTokens,
      });
    }
    return refuse(400, "GRAPHQL_PARSE_FAILED", message);
  }
  const analysis = analyseDocument(schema, document, variables);
  const refused = checkAnalysis(analysis, limits, authenticated);
  return refused ?? { ok: true, document, analysis };
}
