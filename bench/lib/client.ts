// A minimal GraphQL client for the bench: HTTP queries/mutations (API key auth, returns the gateway's
// x-db-queries count), raw uploads, and a graphql-ws subscription.
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

export interface GqlResult<T> {
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
  status: number;
  dbQueries: number;
  ms: number;
}

export function createBenchClient(baseUrl: string, apiKey: string) {
  const headers = { "content-type": "application/json", "x-api-key": apiKey };
  async function gql<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<GqlResult<T>> {
    const t0 = performance.now();
    const r = await fetch(`${baseUrl}/graphql`, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
    const body = (await r.json()) as { data?: T; errors?: GqlResult<T>["errors"] };
    return { ...body, status: r.status, dbQueries: Number(r.headers.get("x-db-queries") ?? NaN), ms: performance.now() - t0 };
  }
  /** gql() that throws on transport or GraphQL errors and on payload `errors` */
  async function must<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const r = await gql<T>(query, variables);
    if (r.status !== 200 || r.errors?.length || !r.data)
      throw new Error(`GraphQL ${r.status}: ${JSON.stringify(r.errors ?? r.data).slice(0, 500)}`);
    for (const v of Object.values(r.data as Record<string, any>)) {
      if (v && Array.isArray(v.errors) && v.errors.length)
        throw new Error(`GraphQL payload errors: ${JSON.stringify(v.errors).slice(0, 500)}`);
    }
    return r.data;
  }
  async function upload(bytes: Uint8Array, contentType = "image/png"): Promise<string> {
    const r = await fetch(`${baseUrl}/upload`, {
      method: "POST",
      headers: { "content-type": contentType, "x-api-key": apiKey },
      body: bytes as unknown as BodyInit,
    });
    const body = (await r.json()) as { uploadId?: string; error?: unknown };
    if (r.status !== 200 || !body.uploadId) throw new Error(`upload ${r.status}: ${JSON.stringify(body).slice(0, 300)}`);
    return body.uploadId;
  }
  function ws(): Client {
    return createClient({
      url: `${baseUrl.replace(/^http/, "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { apiKey },
      lazy: false,
      retryAttempts: 0,
    });
  }
  return { gql, must, upload, ws };
}

export type BenchClient = ReturnType<typeof createBenchClient>;
