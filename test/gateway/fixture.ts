// Gateway test fixture: a real gateway (HTTP + graphql-ws + outbox relay + completion consumer) on a free port,
// against the harness's fresh PostgreSQL database and Kafka topic prefix, with two seeded tenants (one user per
// role each, and an API key). Logs are captured for assertions (GATEWAY_TEST_LOG=1 also prints them).
import { mkdtemp, readdir, rm } from "node:fs/promises";
import type { Dirent } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestContext } from "node:test";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { PNG } from "pngjs";
import { createTestContext, type TestCtx } from "../helpers/index.ts";
import { ensureOperator, seedDemo, type DemoSeed } from "../../lib/db/index.ts";
import { createLocalDiskImageStore, type ImageStore, type LocalDiskImageStore } from "../../lib/images/index.ts";
import { request as httpsRequest } from "node:https";
import { loadGatewayConfig } from "../../services/gateway/src/config.ts";
import { createGateway, type Gateway } from "../../services/gateway/src/gateway.ts";
import { createLogger } from "../../services/gateway/src/logger.ts";

export const SECRET = "test-secret-0123456789-abcdefghijklmnop";
export const DICOM_DIR = "/work/shared/data/dicom_cxr";

export interface GqlResponse<T = any> {
  status: number;
  headers: Headers;
  body: { data?: T; errors?: { message: string; extensions?: Record<string, unknown>; path?: unknown[] }[] };
  queries: number;
}

export type Auth = Record<string, string>;

export interface GatewayFixture {
  ctx: TestCtx;
  gateway: Gateway;
  storeDir: string;
  store: LocalDiskImageStore;
  logs: Record<string, unknown>[];
  tenantA: DemoSeed;
  tenantB: DemoSeed;
  /** bearer headers per role, tenant A and tenant B */
  a: Record<"ADMIN" | "RADIOLOGIST" | "CLINICIAN" | "AUDITOR", Auth>;
  b: Record<"ADMIN" | "RADIOLOGIST" | "CLINICIAN" | "AUDITOR", Auth>;
  apiKeyA: Auth;
  /** bearer header of a platform operator (created on first use, in the platform's own tenant) */
  operator(): Promise<Auth>;
  gql<T = any>(query: string, variables?: Record<string, unknown>, auth?: Auth): Promise<GqlResponse<T>>;
  login(email: string, password: string): Promise<string>;
  upload(bytes: Uint8Array, contentType: string, auth: Auth): Promise<{ status: number; body: any }>;
  /** files in the image store (relative paths), for "nothing stored" checks */
  storedFiles(): Promise<string[]>;
  ws(auth: Record<string, unknown>): Client;
  /** a second replica on the same database and topics (its own consumer group) */
  replica(): Promise<Gateway>;
}

export interface FixtureOptions {
  env?: Record<string, string>;
  /** the CA of a TLS gateway (GATEWAY_TLS_* in env): the fixture's GraphQL client trusts it */
  tlsCa?: Buffer;
  /** the gateway's image store, given the fixture's disk root (default: the local disk store there) */
  imageStore?: (storeDir: string) => ImageStore;
}

/** POST over HTTPS with a private CA (the global fetch cannot be given one). */
function postWithCa(url: string, headers: Record<string, string>, body: string, ca: Buffer): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: "POST", headers, ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const out = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") out.set(k, v);
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers: out }));
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(full, base)));
    else out.push(path.relative(base, full));
  }
  return out.sort();
}

export async function startGatewayFixture(t: TestContext, options: FixtureOptions = {}): Promise<GatewayFixture> {
  const ctx = await createTestContext(t);
  const storeDir = await mkdtemp(path.join(tmpdir(), "gw-store-"));
  ctx.defer(() => rm(storeDir, { recursive: true, force: true }));
  const logs: Record<string, unknown>[] = [];
  const echo = process.env.GATEWAY_TEST_LOG === "1";
  const makeGateway = (instanceId: string) => {
    const config = loadGatewayConfig({
      DATABASE_URL: ctx.databaseUrl,
      KAFKA_BROKERS: ctx.brokers.join(","),
      AUTH_TOKEN_SECRET: SECRET,
      GATEWAY_PORT: "0",
      GATEWAY_INSTANCE_ID: instanceId,
      KAFKA_TOPIC_PREFIX: ctx.topicPrefix,
      STORAGE_DIR: storeDir,
      OUTBOX_POLL_MS: "100",
      SHUTDOWN_GRACE_MS: "2000",
      LOG_LEVEL: "debug",
      // tests of other behaviours send bursts from one caller; test/gateway/rate-limits.test.ts sets its own limits
      GRAPHQL_RATE_BURST: "100000",
      GRAPHQL_RATE_PER_SECOND: "100000",
      GRAPHQL_MAX_IN_FLIGHT_PER_CALLER: "1000",
      ...options.env,
    });
    const logger = createLogger(`gateway-${instanceId}`, "debug", (line) => {
      logs.push(JSON.parse(line) as Record<string, unknown>);
      if (echo) process.stderr.write(`${line}\n`);
    });
    return createGateway({
      config,
      db: ctx.db,
      kafka: ctx.kafka,
      imageStore: options.imageStore?.(storeDir) ?? createLocalDiskImageStore({ root: storeDir }),
      logger,
    });
  };
  const [tenantA, tenantB] = await Promise.all([
    seedDemo(ctx.repos, { tenantSlug: "hospital-a", tenantName: "Hospital A", apiKey: "gk_tenantA_key_0123456789abcdefghijkl" }),
    seedDemo(ctx.repos, { tenantSlug: "hospital-b", tenantName: "Hospital B", apiKey: "gk_tenantB_key_0123456789abcdefghijkl" }),
  ]);
  const gateway = makeGateway(`test-${process.pid}-a`);
  await gateway.start();
  ctx.defer(() => gateway.stop());
  const store = createLocalDiskImageStore({ root: storeDir });

  async function gql<T>(query: string, variables: Record<string, unknown> = {}, auth: Auth = {}): Promise<GqlResponse<T>> {
    const headers = { "content-type": "application/json", ...auth };
    const body = JSON.stringify({ query, variables });
    const response = options.tlsCa
      ? await postWithCa(`${gateway.url}/graphql`, headers, body, options.tlsCa)
      : await fetch(`${gateway.url}/graphql`, { method: "POST", headers, body });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as GqlResponse<T>["body"],
      queries: Number(response.headers.get("x-db-queries") ?? NaN),
    };
  }

  async function login(email: string, password: string): Promise<string> {
    const r = await gql<{ login: { token: string | null; errors: unknown[] } }>(
      `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token errors { code message } } }`,
      { e: email, p: password },
    );
    const token = r.body.data?.login.token;
    if (!token) throw new Error(`login failed for ${email}: ${JSON.stringify(r.body)}`);
    return token;
  }

  const bearerFor = async (seed: DemoSeed) => {
    const out = {} as GatewayFixture["a"];
    for (const user of seed.users) {
      if (user.role === "WORKER") continue;
      out[user.role as keyof GatewayFixture["a"]] = { authorization: `Bearer ${await login(user.email, user.password)}` };
    }
    return out;
  };

  const sockets: Client[] = [];
  ctx.defer(async () => {
    for (const s of sockets) await s.dispose();
  });

  return {
    ctx,
    gateway,
    storeDir,
    store,
    logs,
    tenantA,
    tenantB,
    a: await bearerFor(tenantA),
    b: await bearerFor(tenantB),
    apiKeyA: { "x-api-key": tenantA.apiKey },
    async operator() {
      await ensureOperator(ctx.repos, { email: "operator@platform.test", name: "Operator", password: "operator-pass-1" });
      return { authorization: `Bearer ${await login("operator@platform.test", "operator-pass-1")}` };
    },
    gql,
    login,
    async upload(bytes, contentType, auth) {
      const response = await fetch(`${gateway.url}/upload`, {
        method: "POST",
        headers: { "content-type": contentType, ...auth },
        body: bytes as unknown as BodyInit,
      });
      return { status: response.status, body: await response.json() };
    },
    storedFiles: () => listFiles(storeDir),
    ws(connectionParams) {
      const client = createClient({
        url: `${gateway.url.replace("http", "ws")}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams,
        retryAttempts: 0,
        lazy: true,
      });
      sockets.push(client);
      return client;
    },
    async replica() {
      const other = makeGateway(`test-${process.pid}-b`);
      await other.start();
      ctx.defer(() => other.stop());
      return other;
    },
  };
}

/** Subscribes and collects `next` payloads; `until(n)` waits for n of them. */
export function subscribe<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const messages: T[] = [];
  const errors: unknown[] = [];
  let completed = false;
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        if (value.errors) errors.push(...value.errors);
        if (value.data) messages.push(value.data as T);
      },
      error: (error) => errors.push(error),
      complete: () => {
        completed = true;
      },
    },
  );
  return {
    messages,
    errors,
    isComplete: () => completed,
    unsubscribe,
    async until(predicate: (messages: T[]) => boolean, timeoutMs = 20_000, what = "subscription messages") {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(messages)) {
        if (errors.length) throw new Error(`subscription failed: ${JSON.stringify(errors)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(messages)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return messages;
    },
  };
}

/** Creates a patient and a study through the API; returns their ids. */
export async function createStudy(fx: GatewayFixture, auth: Auth, mrn = `MRN-${Math.random().toString(36).slice(2, 10)}`) {
  const p = await fx.gql(
    `mutation($m: String!) { createPatient(input: { externalId: $m }) { patient { id } errors { code message } } }`,
    { m: mrn },
    auth,
  );
  const patientId = p.body.data?.createPatient.patient?.id as string;
  if (!patientId) throw new Error(`createPatient failed: ${JSON.stringify(p.body)}`);
  const s = await fx.gql(
    `mutation($p: ID!) { createStudy(input: { patientId: $p }) { study { id } errors { code message } } }`,
    { p: patientId },
    auth,
  );
  const studyId = s.body.data?.createStudy.study?.id as string;
  if (!studyId) throw new Error(`createStudy failed: ${JSON.stringify(s.body)}`);
  return { patientId, studyId };
}

/** A small valid 8-bit grayscale PNG (distinct content per seed, so each is a distinct upload). */
export function grayPng(width = 32, height = 32, seed = 1): Buffer {
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  for (let i = 0; i < width * height; i++) png.data[i] = (i * 7 + seed * 13) % 256;
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}
