// The gateway factory: HTTP server (GraphQL, uploads, images, health, console) + graphql-ws, the outbox
// relay, this replica's completion consumer and transition tailer. createGateway() builds; start() listens;
// stop() shuts down in order: stop accepting → close WebSockets → drain in-flight requests → stop relay,
// consumer and tailer →
// disconnect the Kafka clients it created. The database handle belongs to the caller (main.ts closes it).
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { ping, type Db as CoreDb } from "../../../lib/db/client.ts";
import { createOutboxRepository } from "../../../lib/db/repositories/outbox.ts";
import type { KafkaClient, KafkaProducer } from "../../../lib/kafka/index.ts";
import { createOutboxRelay, type OutboxRelay } from "../../../lib/outbox/index.ts";
import { createDeliveryRepository } from "../../../lib/db/repositories/deliveries.ts";
import { createDeliverySourceRepository } from "../../../lib/db/repositories/delivery-sources.ts";
import { createDeliveryDispatcher, type DeliveryDispatcher } from "../../../lib/deliveries/dispatcher.ts";
import { createEgressPolicy } from "../../../lib/deliveries/egress.ts";
import { createOrthancRest } from "../../../lib/pacs-ingest/orthanc-rest.ts";
import { createSourceIdentityLookup } from "../../../lib/pacs-ingest/source-identity.ts";
import type { ImageStore } from "../../../lib/images/index.ts";
import type { GatewayConfig } from "./config.ts";
import { createLogger, type Logger } from "./logger.ts";
import { countingClient, runWithQueryCounter, type QueryCounter } from "../../../lib/db/query-counter.ts";
import { buildSchema } from "./graphql/schema.ts";
import { createApollo } from "./graphql/apollo.ts";
import { createLoaders } from "./graphql/loaders.ts";
import { createServices } from "./graphql/services.ts";
import type { GatewayContext } from "./graphql/context.ts";
import { AnalysisUpdates } from "./subscriptions/updates.ts";
import { createCompletionConsumer } from "./subscriptions/completions.ts";
import { createTransitionTailer, type TransitionTailer } from "./subscriptions/tailer.ts";
import { attachGraphQLWs } from "./ws.ts";
import { cachedAuthStore } from "./auth/api-key-cache.ts";
import { authenticate, InvalidCredentials, type Principal } from "./auth/principal.ts";
import { decide } from "./auth/policy.ts";
import { handleGraphQL, type DocumentCheck } from "./http/graphql.ts";
import { createOperationLimiter, limiterKey } from "./http/rate-limit.ts";
import { preflight } from "./graphql/limits/preflight.ts";
import { setSecurityHeaders } from "./http/security-headers.ts";
import { handleUpload } from "./http/upload.ts";
import { createUploadDecoder } from "./http/upload-decoder.ts";
import { createGatewayPacsIngest } from "./pacs-ingest.ts";
import type { PacsIngestWatcher } from "../../../lib/pacs-ingest/watcher.ts";
import { handleImage } from "./http/images.ts";
import { createStaticHandler } from "./http/static.ts";
import { headerValue, sendError, sendJson } from "./http/body.ts";
import { clientAddress } from "./http/client-address.ts";
import { FHIR_PREFIX, handleFhir } from "./http/fhir.ts";
import { createStowHandler, STOW_PATH } from "./http/stow.ts";
import { claimingOriginals } from "../../../lib/images/pacs-store.ts";

export interface GatewayDeps {
  config: GatewayConfig;
  db: CoreDb;
  kafka: KafkaClient;
  imageStore: ImageStore;
  logger?: Logger;
}

export interface ReadyReport {
  ready: boolean;
  checks: {
    database: boolean;
    kafka: boolean;
    relay: boolean;
    consumer: boolean;
    tailer: boolean;
    deliveries: boolean;
    pacsIngest: boolean;
  };
}

export interface Gateway {
  start(): Promise<void>;
  stop(): Promise<void>;
  ready(): Promise<ReadyReport>;
  /** http://host:port once started */
  readonly url: string;
  /** this replica's subscription fan-out (tests and metrics) */
  readonly updates: AnalysisUpdates;
  /** this replica's reader of the transition log (tests: `wake()` reads it now) */
  readonly tailer: TransitionTailer;
  /** publish everything in the outbox now (tests, demo) */
  flushOutbox(): Promise<number>;
  /** this replica's delivery dispatcher (SR, HL7, FHIR out); null when DELIVERY_DISPATCHER=false */
  readonly deliveries: DeliveryDispatcher | null;
  /** DICOM in: the Orthanc /changes watcher; null when PACS_INGEST is off */
  readonly pacsIngest: PacsIngestWatcher | null;
}

export function createGateway(deps: GatewayDeps): Gateway {
  const { config, kafka, imageStore } = deps;
  const logger = deps.logger ?? createLogger("gateway", config.logLevel);
  const db = countingClient(deps.db.prisma);
  const topics = config.topics;
  const updates = new AnalysisUpdates();
  // In the gateway rather than a service of its own: it needs the same database and config, replicas share the work
  // through SKIP LOCKED claims, and sendToPacs can wake it at once; DELIVERY_DISPATCHER=false turns it off here.
  const deliveries = config.deliveries.dispatcher
    ? createDeliveryDispatcher({
        deliveries: createDeliveryRepository(deps.db.prisma),
        sources: createDeliverySourceRepository(deps.db.prisma),
        config: {
          pacs: config.deliveries.pacs,
          hl7: config.deliveries.hl7,
          timeoutMs: config.deliveries.timeoutMs,
          egress: createEgressPolicy(config.deliveries.egress),
          sourceIdentity: config.deliveries.sourcePacs ? createSourceIdentityLookup(createOrthancRest(config.deliveries.sourcePacs)) : null,
        },
        logger,
        options: config.deliveries.options,
      })
    : null;
  const services = createServices(db, {
    topics,
    sql: deps.db.sql,
    store: imageStore,
    updates,
    auth: config.auth,
    replay: config.subscriptions.replay,
    wakeDeliveries: () => deliveries?.wake(),
  });
  // HTTP and WebSocket share it: one lookup per key per API_KEY_CACHE_SECONDS on this replica
  const authStore = cachedAuthStore(services.repos, { ttlMs: config.auth.apiKeyCacheSeconds * 1000 });
  const authOptions = { tokenSecret: config.auth.tokenSecret, apiKeyLastUsedIntervalSeconds: config.auth.apiKeyLastUsedIntervalSeconds };
  const schema = buildSchema();
  const apollo = createApollo(schema, { ...config.graphql, logger });
  /** The query limits for one request (HTTP); refusals are logged with the analysis' work counter. */
  const checkDocument =
    (authenticated: boolean, requestId: string): DocumentCheck =>
    (source, variables) => {
      const verdict = preflight(schema, source, variables, config.graphql.limits, authenticated);
      if (!verdict.ok) {
        logger.info("GraphQL document refused", {
          requestId,
          code: verdict.error.extensions.code,
          authenticated,
          bytes: Buffer.byteLength(source, "utf8"),
          visited: verdict.analysis?.visited ?? null,
          nodes: verdict.analysis?.nodes ?? null,
        });
      }
      return verdict;
    };
  const serveConsole = createStaticHandler(config.consoleDir, "/console");
  const limiter = createOperationLimiter(config.graphql.rate);
  // Image decoding runs on these threads (memory-capped, bounded queue), never on the event loop.
  const uploadDecoder = createUploadDecoder(config.upload, logger);
  const tenantSlug = async (tenantId: string) => (await services.repos.tenants.findById(tenantId))?.slug ?? null;
  const pacsIngest = createGatewayPacsIngest({
    config,
    repos: services.repos,
    store: imageStore,
    decoder: uploadDecoder,
    tenantSlug,
    logger,
  });
  // STOW-RS in goes where DICOM in is on: the watcher ingests what it stores, by the tenant that claimed it
  const stow = config.pacsIngest
    ? createStowHandler({
        orthanc: createOrthancRest({ url: config.pacsIngest.orthanc.url, credentials: config.pacsIngest.orthanc.credentials }),
        repos: services.repos,
        limits: { ...config.pacsIngest.stow, maxPartBytes: config.pacsIngest.options.maxInstanceBytes },
        logger,
      })
    : null;
  const consumer = createCompletionConsumer({ kafka, groupId: `gateway-${config.instanceId}`, topics, updates, logger });
  const tailer = createTransitionTailer({
    log: services.repos.transitions,
    updates,
    logger,
    options: {
      pollMs: config.subscriptions.pollMs,
      coalesceMs: config.subscriptions.coalesceMs,
      retentionMs: config.subscriptions.retentionMs,
      pruneEveryMs: 10 * 60_000,
    },
  });
  let producer: KafkaProducer | null = null;
  let relay: OutboxRelay | null = null;
  let url = "";
  let state: "new" | "starting" | "started" | "stopping" | "stopped" = "new";
  let inFlight = 0;
  // fullUrls must be absolute: the configured public base, else this replica's own address
  const fhirBaseUrl = () => config.fhir.baseUrl ?? `${url}${FHIR_PREFIX}`;

  const makeContext = (principal: Principal | null, requestId: string, queries: QueryCounter, address: string | null): GatewayContext => ({
    principal,
    loaders: principal ? createLoaders(services.repos, principal.tenantId) : null,
    config,
    logger,
    services,
    requestId,
    queries,
    clientAddress: address,
    fhirBaseUrl: fhirBaseUrl(),
  });

  async function principalOf(req: http.IncomingMessage): Promise<Principal | null> {
    return authenticate(
      authStore,
      { authorization: headerValue(req, "authorization") ?? null, apiKey: headerValue(req, "x-api-key") ?? null },
      authOptions,
    );
  }

  /** Resolves the caller for a non-GraphQL route and applies the policy; answers 401/403 itself. */
  async function admit(req: http.IncomingMessage, res: http.ServerResponse, route: string): Promise<Principal | null> {
    let principal: Principal | null;
    try {
      principal = await principalOf(req);
    } catch (error) {
      if (error instanceof InvalidCredentials) {
        sendError(res, 401, "UNAUTHENTICATED", error.message);
        return null;
      }
      throw error;
    }
    const decision = decide(route, principal?.role ?? null);
    if (decision === "unauthenticated") {
      sendError(res, 401, "UNAUTHENTICATED", "Authentication required: send `Authorization: Bearer <token>` or `x-api-key`.");
      return null;
    }
    if (decision === "forbidden") {
      sendError(res, 403, "FORBIDDEN", `Your role (${principal?.role}) may not use this endpoint.`);
      return null;
    }
    return principal;
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    const requestId = headerValue(req, "x-request-id") ?? randomUUID();
    res.setHeader("x-request-id", requestId);
    if (path === "/healthz") return sendJson(res, 200, { status: "ok", instanceId: config.instanceId });
    if (path === "/readyz") {
      const report = await ready();
      return sendJson(res, report.ready ? 200 : 503, report);
    }
    if (path === "/graphql") {
      if (req.method !== "POST" && req.method !== "GET") {
        res.writeHead(405, { allow: "GET, POST" }).end();
        return;
      }
      const counter: QueryCounter = { count: 0 };
      return runWithQueryCounter(counter, async () => {
        let principal: Principal | null;
        try {
          principal = await principalOf(req);
        } catch (error) {
          if (error instanceof InvalidCredentials) {
            return sendJson(res, 401, { errors: [{ message: error.message, extensions: { code: "UNAUTHENTICATED" } }] });
          }
          throw error;
        }
        const address = clientAddress(req, config.http.trustProxy);
        await handleGraphQL(
          req,
          res,
          url,
          apollo,
          async () => makeContext(principal, requestId, counter, address),
          counter,
          checkDocument(principal !== null, requestId),
          (cost) => limiter.admit(limiterKey(principal, address), cost),
        );
      });
    }
    if (path === FHIR_PREFIX || path.startsWith(`${FHIR_PREFIX}/`)) {
      const address = clientAddress(req, config.http.trustProxy);
      const admitFhir = (principal: Principal | null) => limiter.admit(limiterKey(principal, address), 0);
      return handleFhir(req, res, url, {
        audit: services.repos.audit,
        repo: services.repos.fhir,
        baseUrl: fhirBaseUrl,
        principalOf,
        admit: admitFhir,
        logger,
      });
    }
    if (path === "/upload") {
      if (req.method !== "POST") {
        res.writeHead(405, { allow: "POST" }).end();
        return;
      }
      const principal = await admit(req, res, "HTTP.upload");
      if (principal)
        await handleUpload(req, res, url, principal, {
          // a DICOM original going into the PACS is claimed for the uploader's tenant first (the watcher passes it)
          store:
            config.imageStore === "pacs"
              ? claimingOriginals(imageStore, (orthancId) =>
                  services.repos.pacsIngest.claimStow(orthancId, principal.tenantId, principal.actor, "UPLOAD"),
                )
              : imageStore,
          config,
          logger,
          decoder: uploadDecoder,
          tenantSlug,
        });
      return;
    }
    if (path === STOW_PATH) {
      if (req.method !== "POST") {
        res.writeHead(405, { allow: "POST" }).end();
        return;
      }
      if (!stow) return sendError(res, 404, "NOT_CONFIGURED", "STOW-RS needs DICOM in (PACS_INGEST with ORTHANC_URL).");
      const principal = await admit(req, res, "HTTP.stow");
      if (principal) await stow(req, res, principal);
      return;
    }
    const image = /^\/images\/([^/]+)$/.exec(path);
    if (image) {
      const principal = await admit(req, res, "HTTP.image");
      if (principal) await handleImage(req, res, decodeURIComponent(image[1]!), principal, { repos: services.repos, store: imageStore });
      return;
    }
    if (path === "/") {
      res.writeHead(302, { location: "/console/" }).end();
      return;
    }
    if (await serveConsole(req, res, path)) return;
    sendError(res, 404, "NOT_FOUND", `No route for ${req.method} ${path}.`);
  }

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    inFlight++;
    setSecurityHeaders(req, res, config.http);
    res.on("close", () => inFlight--);
    route(req, res).catch((error: unknown) => {
      const errorId = randomUUID();
      logger.error("unhandled HTTP error", { errorId, method: req.method, url: req.url, error });
      if (!res.headersSent) sendError(res, 500, "INTERNAL", "Internal server error", { errorId });
      else res.destroy();
    });
  };
  // with TLS configured, HTTPS and WSS share the port and nothing is served in clear text
  const server: http.Server = config.http.tls
    ? https.createServer({ ...config.http.tls, minVersion: "TLSv1.2" }, onRequest)
    : http.createServer(onRequest);
  server.keepAliveTimeout = 5000;
  const ws = attachGraphQLWs({
    server,
    path: "/graphql",
    schema,
    authStore,
    auth: authOptions,
    recheckSeconds: config.auth.sessionRecheckSeconds,
    revocations: services.revocations,
    limits: config.graphql.limits,
    limiter,
    introspection: config.graphql.introspection,
    logger,
    makeContext: (principal, address) => makeContext(principal, randomUUID(), { count: 0 }, address),
    clientAddress: (req) => clientAddress(req, config.http.trustProxy),
  });

  async function ready(): Promise<ReadyReport> {
    const database = await ping(db);
    // one probe without retries: waitUntilReady's admin client retries its connect for longer than a probe may take
    const kafkaOk = await kafka.reachable(2000);
    const checks = {
      database,
      kafka: kafkaOk,
      relay: relay?.ready() ?? false,
      consumer: consumer.ready(),
      tailer: tailer.ready(),
      deliveries: deliveries?.ready() ?? true,
      pacsIngest: pacsIngest?.ready() ?? true,
    };
    return { ready: state === "started" && Object.values(checks).every(Boolean), checks };
  }

  async function start(): Promise<void> {
    if (state !== "new") throw new Error(`gateway cannot start from state ${state}`);
    state = "starting";
    await apollo.start();
    producer = await kafka.producer();
    relay = createOutboxRelay({
      outbox: createOutboxRepository(deps.db.prisma),
      producer,
      databaseUrl: deps.db.databaseUrl,
      pollIntervalMs: config.outboxPollMs,
      gatherMs: config.outboxGatherMs,
      // a committed outbox row (a worker's results, another replica's request) comes with its transitions: read
      // them now, not when its event is back from Kafka (the completion consumer stays the wake-up across hosts)
      onNotify: () => updates.changed(),
      log: (level, message, extra) => logger[level](`outbox: ${message}`, extra),
    });
    await relay.start();
    await tailer.start();
    await consumer.start();
    await deliveries?.start();
    await pacsIngest?.start();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    url = `${config.http.tls ? "https" : "http"}://${host}:${address.port}`;
    state = "started";
    logger.info("gateway listening", { url, instanceId: config.instanceId, consumerGroup: `gateway-${config.instanceId}` });
  }

  async function stop(): Promise<void> {
    if (state === "stopped" || state === "stopping" || state === "new") {
      state = "stopped";
      return;
    }
    state = "stopping";
    // Each step is bounded: a dependency that hangs (e.g. a Kafka send retrying against a missing topic)
    // must not keep the process from exiting; the later steps still run.
    const step = async (name: string, fn: () => Promise<unknown>, limitMs = 10_000) => {
      const t0 = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), limitMs)));
      try {
        const outcome = await Promise.race([fn().then(() => "done" as const), timeout]);
        if (outcome === "timeout") logger.warn(`shutdown step timed out, going on: ${name}`, { limitMs });
        else logger.debug(`shutdown: ${name}`, { ms: Date.now() - t0 });
      } catch (error) {
        logger.warn(`shutdown step failed: ${name}`, { error });
      } finally {
        clearTimeout(timer);
      }
    };
    // 1. stop accepting new connections (in-flight requests go on)
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // 2. close subscriptions
    await step("close websockets", () => ws.close());
    // 3. drain in-flight HTTP requests, up to the grace period
    const deadline = Date.now() + config.shutdownGraceMs;
    while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    server.closeAllConnections();
    await step("close http server", () => closed);
    await step("stop pacs ingest watcher", async () => pacsIngest?.stop());
    await step("stop image decoders", () => uploadDecoder.close());
    await step("stop apollo", () => apollo.stop());
    // 4. stop the outbox relay and the completion consumer
    await step("stop outbox relay", async () => relay?.stop());
    await step("stop completion consumer", () => consumer.stop());
    await step("stop transition tailer", () => tailer.stop());
    // sends in flight are aborted and their rows given back: another replica or the next start sends them
    await step("stop delivery dispatcher", async () => deliveries?.stop());
    // 5. disconnect the Kafka clients this gateway created
    await step("disconnect producer", async () => producer?.disconnect());
    state = "stopped";
    logger.info("gateway stopped", { instanceId: config.instanceId });
  }

  return {
    start,
    stop,
    ready,
    get url() {
      return url;
    },
    updates,
    tailer,
    flushOutbox: async () => (relay ? relay.flush() : 0),
    deliveries,
    pacsIngest,
  };
}
