// POST/GET /graphql through Apollo's executeHTTPGraphQLRequest (no framework). The DB query counter of
// the request (AsyncLocalStorage, see lib/db/query-counter.ts) is returned in the `x-db-queries` header.
// Every document is checked by `check` (the query limits, graphql/limits/preflight.ts) before Apollo sees it.
import type { IncomingMessage, ServerResponse } from "node:http";
import { HeaderMap, type ApolloServer } from "@apollo/server";
import { BodyTooLarge, readBody, sendError, sendJson } from "./body.ts";
import type { GatewayContext } from "../graphql/context.ts";
import type { QueryCounter } from "../../../../lib/db/query-counter.ts";
import type { Preflight } from "../graphql/limits/preflight.ts";
import type { Admission } from "./rate-limit.ts";

/** Runs the limits on a request's document; a refusal is answered here, without Apollo. */
export type DocumentCheck = (source: string, variables: Record<string, unknown>) => Preflight;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** The document and variables of a request, when it has one (anything else is Apollo's to refuse). */
function documentOf(method: string, url: URL, body: unknown): { source: string; variables: Record<string, unknown> } | null {
  if (method === "GET") {
    const source = url.searchParams.get("query");
    if (source === null) return null;
    let variables: unknown = {};
    try {
      variables = JSON.parse(url.searchParams.get("variables") ?? "{}");
    } catch {
      /* Apollo answers malformed variables */
    }
    return { source, variables: isRecord(variables) ? variables : {} };
  }
  if (!isRecord(body) || typeof body.query !== "string") return null;
  return { source: body.query, variables: isRecord(body.variables) ? body.variables : {} };
}

const MAX_GRAPHQL_BODY = 1024 * 1024;

function toHeaderMap(req: IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers.set(key, Array.isArray(value) ? value.join(", ") : value);
  }
  return headers;
}

export async function handleGraphQL(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  apollo: ApolloServer<GatewayContext>,
  makeContext: () => Promise<GatewayContext>,
  counter: QueryCounter,
  check: DocumentCheck,
  admit: (cost: number) => Promise<Admission>,
): Promise<void> {
  let body: unknown;
  if (req.method === "POST") {
    let raw: Buffer;
    try {
      raw = await readBody(req, MAX_GRAPHQL_BODY);
    } catch (error) {
      if (error instanceof BodyTooLarge)
        return sendError(res, 413, "TOO_LARGE", `GraphQL requests are limited to ${MAX_GRAPHQL_BODY} bytes.`);
      throw error;
    }
    const type = (req.headers["content-type"] ?? "").toLowerCase();
    if (type.startsWith("application/json") || type.startsWith("application/graphql-response+json")) {
      try {
        body = raw.length ? JSON.parse(raw.toString("utf8")) : undefined;
      } catch {
        return sendError(res, 400, "BAD_REQUEST", "The request body is not valid JSON.");
      }
    } else {
      body = raw.toString("utf8");
    }
  }
  const doc = documentOf(req.method ?? "GET", url, body);
  let cost = 0;
  if (doc) {
    const verdict = check(doc.source, doc.variables);
    if (!verdict.ok) {
      res.setHeader("cache-control", "no-store");
      return sendJson(res, verdict.status, { errors: [{ message: verdict.error.message, extensions: verdict.error.extensions }] });
    }
    cost = Math.max(0, ...verdict.analysis.operations.map((o) => o.metrics.cost));
  }
  // after the limits (a refused document costs no tokens), before any execution
  const admission = await admit(cost);
  if (!admission.ok) {
    res.setHeader("cache-control", "no-store");
    res.setHeader("retry-after", String(Math.max(1, Math.ceil(admission.retryAfterMs / 1000))));
    return sendJson(res, admission.status, {
      errors: [{ message: admission.message, extensions: { code: admission.code, retriable: true, retryAfterMs: admission.retryAfterMs } }],
    });
  }
  try {
    await execute(req, res, url, apollo, makeContext, counter, body);
  } finally {
    admission.release();
  }
}

async function execute(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  apollo: ApolloServer<GatewayContext>,
  makeContext: () => Promise<GatewayContext>,
  counter: QueryCounter,
  body: unknown,
): Promise<void> {
  const response = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? "GET", headers: toHeaderMap(req), search: url.search, body },
    context: makeContext,
  });
  for (const [key, value] of response.headers) res.setHeader(key, value);
  res.setHeader("cache-control", "no-store");
  res.statusCode = response.status ?? 200;
  if (response.body.kind === "complete") {
    res.setHeader("x-db-queries", String(counter.count));
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}
