// The gateway's configuration: the only place the gateway reads the environment (main.ts passes process.env).
// Every problem is listed at once (lib/config).
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { availableParallelism, hostname } from "node:os";
import { env, loadConfig, z, type Env } from "../../../lib/config/index.ts";
import { ConfigError } from "../../../lib/errors/index.ts";
import { topicNames, type TopicNames } from "../../../lib/events/index.ts";
import type { QueryLimits } from "./graphql/limits/preflight.ts";
import type { RateLimitOptions } from "./http/rate-limit.ts";
import type { LoginLimits } from "./auth/throttle.ts";
import type { PacsConfig } from "../../../lib/deliveries/senders.ts";
import type { DispatcherOptions } from "../../../lib/deliveries/dispatcher.ts";
import { parseEgressRules, type EgressRule } from "../../../lib/deliveries/egress.ts";
import type { PacsIngestOptions } from "../../../lib/pacs-ingest/watcher.ts";

/** http(s) only: a PACS URL must not point the gateway at file:, data: or other schemes */
const httpUrl = () =>
  z
    .string()
    .url()
    // refinements run even after .url() failed: a string that is no URL must not throw here
    .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), "must be an http:// or https:// URL");

const schema = z.object({
  GATEWAY_HOST: env.string().default("127.0.0.1"),
  /** 0 picks a free port (tests). */
  GATEWAY_PORT: env.port(4000),
  /** Distinguishes replicas: the completion consumer's group is `gateway-<id>`. */
  GATEWAY_INSTANCE_ID: env.string().optional(),
  DATABASE_URL: env.postgresUrl(),
  KAFKA_BROKERS: env.list(),
  KAFKA_CLIENT_ID: env.string().default("gateway"),
  /** Topic names are `<prefix>analysis.requested|completed|dead-letter` (lib/events), as for the worker. */
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, "letters, digits, . _ -")
    .default(""),
  /** HMAC secret for bearer tokens; at least 32 characters. */
  AUTH_TOKEN_SECRET: z.string().min(32, "must be at least 32 characters"),
  AUTH_TOKEN_TTL_SECONDS: env.int(8 * 3600, 60),
  /** open WebSockets re-check their credentials this often (a revocation on another replica closes them) */
  AUTH_SESSION_RECHECK_SECONDS: env.int(30, 1),
  /** an API key's lastUsedAt is written at most once per this many seconds */
  API_KEY_LAST_USED_INTERVAL_SECONDS: env.int(60, 0),
  /** an API key found active is trusted this long without a lookup; a revocation takes effect within it (0: off) */
  API_KEY_CACHE_SECONDS: env.int(5, 0),
  /** failed logins of one account (e-mail, known or not) before it is locked */
  LOGIN_ACCOUNT_MAX_FAILURES: env.int(5, 1),
  /** failed logins from one client address before it is locked */
  LOGIN_ADDRESS_MAX_FAILURES: env.int(20, 1),
  /** the first lock; every further failure after a lock doubles it, up to the maximum */
  LOGIN_LOCKOUT_BASE_SECONDS: env.int(30, 1),
  LOGIN_LOCKOUT_MAX_SECONDS: env.int(900, 1),
  /** failures are forgotten after this long without a new one */
  LOGIN_FAILURE_MEMORY_SECONDS: env.int(3600, 1),
  UPLOAD_MAX_BYTES: env.int(32 * 1024 * 1024, 1),
  UPLOAD_MAX_WIDTH: env.int(8192, 1),
  UPLOAD_MAX_HEIGHT: env.int(8192, 1),
  UPLOAD_MAX_PIXELS: env.int(40_000_000, 1),
  UPLOAD_TOKEN_TTL_SECONDS: env.int(24 * 3600, 60),
  /** image decoder threads (off the event loop); 0 = one per spare core: cores − 1, at least 1, at most 4 */
  UPLOAD_DECODE_WORKERS: env.int(0, 0),
  /** uploads that may wait for a busy decoder; beyond workers + queue an upload gets 429 + Retry-After */
  UPLOAD_DECODE_QUEUE: env.int(8, 0),
  /** memory one decoder may use, MiB: a quarter caps its V8 heap, the rest is the pixel budget (lib/images) */
  UPLOAD_DECODE_MEMORY_MB: env.int(1024, 128),
  /** an idle decoder stops after this long, so memory returns to the system after a burst */
  UPLOAD_DECODE_IDLE_MS: env.int(10_000, 100),
  /** a decode running longer is stopped and the upload gets a retriable 503 */
  UPLOAD_DECODE_TIMEOUT_MS: env.int(60_000, 100),
  /** thread: worker_threads (resourceLimits); process: a child process per decoder, a hard memory boundary */
  UPLOAD_DECODE_ISOLATION: env.enumOf(["thread", "process"] as const, "thread"),
  /** store every DICOM upload as sent, with patient data (sites that must keep identified images) */
  STORE_IDENTIFIED_DICOM: env.bool(false),
  /** the same for these tenants only (ids or slugs, comma-separated) */
  STORE_IDENTIFIED_DICOM_TENANTS: env.list().optional(),
  /** key for the pseudonyms that replace DICOM UIDs (32+ characters); default derived from AUTH_TOKEN_SECRET */
  DEIDENTIFY_UID_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  GRAPHQL_MAX_DEPTH: env.int(10, 2),
  GRAPHQL_MAX_COST: env.int(50_000, 10),
  /** the `query` string of one request, in UTF-8 bytes */
  GRAPHQL_MAX_DOCUMENT_BYTES: env.int(16 * 1024, 256),
  /** lexical tokens of one document (graphql-js stops parsing beyond) */
  GRAPHQL_MAX_TOKENS: env.int(2500, 50),
  /** aliases after fragment expansion (1,000 aliased `labels` would otherwise be 1,000 reads) */
  GRAPHQL_MAX_ALIASES: env.int(30, 0),
  /** root field selections after fragment expansion */
  GRAPHQL_MAX_ROOT_FIELDS: env.int(20, 1),
  /** field selections after fragment expansion */
  GRAPHQL_MAX_SELECTIONS: env.int(2000, 10),
  /** off unless asked for (development): also hides "Did you mean …" suggestions when off */
  GRAPHQL_INTROSPECTION: env.bool(false),
  /** graphql-js's development-mode checks (a second copy of graphql is reported by name); off: ~5 % less CPU per request */
  GRAPHQL_DEVELOPMENT_CHECKS: env.bool(false),
  /** per caller (user, API key, or address when anonymous): burst of tokens, refill per second; 1 token per operation plus 1 per GRAPHQL_RATE_COST_PER_TOKEN of estimated cost */
  GRAPHQL_RATE_BURST: env.int(300, 1),
  GRAPHQL_RATE_PER_SECOND: env.number(50),
  GRAPHQL_RATE_COST_PER_TOKEN: env.int(1000, 1),
  /** operations one caller may have executing at once, and the whole gateway; more wait in a bounded queue */
  GRAPHQL_MAX_IN_FLIGHT_PER_CALLER: env.int(16, 1),
  GRAPHQL_MAX_IN_FLIGHT: env.int(64, 1),
  GRAPHQL_MAX_QUEUED: env.int(256, 0),
  GRAPHQL_MAX_QUEUE_WAIT_MS: env.int(5000, 0),
  /** believe `x-forwarded-proto` from a TLS-terminating proxy (HSTS is sent only on HTTPS requests) */
  GATEWAY_TRUST_PROXY: env.bool(false),
  GATEWAY_HSTS_MAX_AGE_SECONDS: env.int(31_536_000, 0),
  /** PEM certificate chain and private key: both set → HTTPS and WSS on GATEWAY_PORT (plain HTTP is not served) */
  GATEWAY_TLS_CERT_FILE: env.string().optional(),
  GATEWAY_TLS_KEY_FILE: env.string().optional(),
  /** Root of the content-addressed image store (with IMAGE_STORE=pacs: the uploads' originals only). */
  STORAGE_DIR: env.string().default(".local/images"),
  /** where display images live: the local disk, or the PACS (ORTHANC_URL / PACS_DICOMWEB_URL) shared by every gateway and worker */
  IMAGE_STORE: env.enumOf(["disk", "pacs"] as const, "disk"),
  CONSOLE_DIR: env.string().default("services/console/dist"),
  OUTBOX_POLL_MS: env.int(200, 10),
  /** a NOTIFY waits this long before the relay's pass, so a burst of commits shares one statement */
  OUTBOX_GATHER_MS: env.int(10, 0),
  /** a subscription resuming with `after` is replayed at most this many missed transitions (else RESYNC_REQUIRED) */
  SUBSCRIPTION_REPLAY_MAX_ROWS: env.int(1000, 1),
  /** a cursor older than this is refused with RESYNC_REQUIRED */
  SUBSCRIPTION_REPLAY_MAX_AGE_SECONDS: env.int(24 * 3600, 1),
  /** transitions are kept this long (at least the replay age), then pruned */
  TRANSITION_RETENTION_SECONDS: env.int(7 * 24 * 3600, 60),
  /** the transition log is read at least this often (mutations and Kafka events also trigger a read) */
  SUBSCRIPTION_POLL_MS: env.int(500, 10),
  /**
   * shortest time between reads of the transition log that wake-ups start: a lone event is read at once, a burst
   * shares one read. The jobs of one worker batch commit a few ms apart, so the last of them waits up to this long
   * for its read: 10 ms instead of 25 cut the bench's notify p50 from 24–27 to 20 ms for 0.3 more reads per study.
   */
  SUBSCRIPTION_COALESCE_MS: env.int(10, 0),
  /** the PACS that SRs go to: Orthanc's root URL (its DICOMweb plugin at /dicom-web) … */
  ORTHANC_URL: httpUrl().optional(),
  ORTHANC_USERNAME: env.string().optional(),
  ORTHANC_PASSWORD: env.string().optional(),
  /** … or any DICOMweb server's base URL (wins over ORTHANC_URL) */
  PACS_DICOMWEB_URL: httpUrl().optional(),
  /** DICOM in: follow ORTHANC_URL's /changes feed and ingest frontal chest instances (any number of replicas: one leads, by lease) */
  PACS_INGEST: env.bool(false),
  PACS_INGEST_POLL_MS: env.int(2000, 10),
  PACS_INGEST_BATCH_SIZE: env.int(50, 1),
  /** instances larger than this are skipped (INGEST log TOO_LARGE) before their file is fetched */
  PACS_INGEST_MAX_INSTANCE_BYTES: env.int(64 * 1024 * 1024, 1024),
  /** DICOM in by STOW-RS (POST /dicomweb/studies, with PACS_INGEST): a request's body, its parts, requests at once */
  STOW_MAX_BODY_BYTES: env.int(128 * 1024 * 1024, 1024),
  STOW_MAX_PARTS: env.int(64, 1),
  STOW_MAX_CONCURRENT: env.int(4, 1),
  /** run the delivery dispatcher in this process (SR, HL7, FHIR out); any number of replicas may */
  DELIVERY_DISPATCHER: env.bool(true),
  DELIVERY_POLL_MS: env.int(1000, 10),
  DELIVERY_BATCH_SIZE: env.int(8, 1),
  /** a claimed delivery is another replica's to retry after this long without an outcome (crash) */
  DELIVERY_LEASE_MS: env.int(120_000, 1000),
  /** attempts before a retriable failure becomes FAILED */
  DELIVERY_MAX_ATTEMPTS: env.int(8, 1),
  DELIVERY_BACKOFF_INITIAL_MS: env.int(2000, 1),
  DELIVERY_BACKOFF_MAX_MS: env.int(300_000, 1),
  /** SR on completion: how often to look for studies whose analyses all ended, and how far back (seconds) */
  DELIVERY_COMPLETION_SWEEP_MS: env.int(10_000, 10),
  DELIVERY_COMPLETION_WINDOW_SECONDS: env.int(3600, 1),
  /** one send (STOW-RS, MLLP exchange, FHIR POST) */
  DELIVERY_TIMEOUT_MS: env.int(30_000, 100),
  /**
   * HL7 and FHIR endpoints tenants may set (lib/deliveries/egress.ts): host names, *.suffixes, IPs, CIDR blocks,
   * each with an optional :port. Unset: none (the PACS is the operator's own and not limited by this).
   */
  DELIVERY_EGRESS_ALLOW: env
    .list()
    .optional()
    .transform((list, ctx) => {
      const { rules, problems } = parseEgressRules(list ?? []);
      for (const message of problems) ctx.addIssue({ code: "custom", message });
      return rules;
    }),
  HL7_SENDING_APPLICATION: env.string().default("GKMVLP"),
  HL7_SENDING_FACILITY: env.string().default("GKMVLP"),
  SHUTDOWN_GRACE_MS: env.int(10_000, 0),
  /** public base of the read-only FHIR endpoint as clients reach it (behind a proxy), e.g. https://ai.hospital.example/fhir/r4; default: the gateway's own address + /fhir/r4 */
  FHIR_BASE_URL: z
    .string()
    .regex(/^https?:\/\/[^\s?#]+[^/\s?#]$/, "an absolute http(s) URL without query, fragment or trailing slash")
    .optional(),
  LOG_LEVEL: env.enumOf(["debug", "info", "warn", "error"] as const, "info"),
});

export type GatewayConfig = {
  host: string;
  port: number;
  instanceId: string;
  databaseUrl: string;
  kafka: { brokers: string[]; clientId: string };
  topics: TopicNames;
  auth: {
    tokenSecret: string;
    tokenTtlSeconds: number;
    sessionRecheckSeconds: number;
    apiKeyLastUsedIntervalSeconds: number;
    apiKeyCacheSeconds: number;
    login: LoginLimits;
  };
  upload: {
    maxBytes: number;
    maxWidth: number;
    maxHeight: number;
    maxPixels: number;
    tokenTtlSeconds: number;
    decode: { workers: number; queue: number; memoryMb: number; idleMs: number; timeoutMs: number; isolation: "thread" | "process" };
    deidentify: { storeIdentified: boolean; storeIdentifiedTenants: string[]; uidSecret: string };
  };
  graphql: { limits: QueryLimits; introspection: boolean; developmentChecks: boolean; rate: RateLimitOptions };
  http: { trustProxy: boolean; hstsMaxAgeSeconds: number; tls: { cert: Buffer; key: Buffer } | null };
  storageDir: string;
  /** "pacs": display images through DICOMweb at deliveries.pacs (never null then) */
  imageStore: "disk" | "pacs";
  consoleDir: string;
  outboxPollMs: number;
  outboxGatherMs: number;
  subscriptions: { pollMs: number; coalesceMs: number; retentionMs: number; replay: { maxRows: number; maxAgeMs: number } };
  fhir: { baseUrl: string | null };
  /** DICOM in; null when PACS_INGEST is off (or no ORTHANC_URL) */
  pacsIngest: {
    orthanc: { url: string; credentials: { username: string; password: string } | null };
    options: PacsIngestOptions;
    /** the STOW-RS endpoint's limits (a part may be at most options.maxInstanceBytes) */
    stow: { maxBodyBytes: number; maxParts: number; maxConcurrent: number };
  } | null;
  deliveries: {
    dispatcher: boolean;
    pacs: PacsConfig | null;
    /** Orthanc's REST API (ORTHANC_URL), where an SR of a study received by DICOM in reads its original UIDs */
    sourcePacs: { url: string; credentials: { username: string; password: string } | null } | null;
    hl7: { sendingApplication: string; sendingFacility: string };
    timeoutMs: number;
    egress: EgressRule[];
    options: DispatcherOptions;
  };
  shutdownGraceMs: number;
  logLevel: "debug" | "info" | "warn" | "error";
};

export function loadGatewayConfig(source: Env): GatewayConfig {
  const c = loadConfig("gateway", schema, source);
  if (c.IMAGE_STORE === "pacs" && !pacsOf(c))
    throw new ConfigError("gateway", ["IMAGE_STORE: pacs needs ORTHANC_URL or PACS_DICOMWEB_URL"]);
  return {
    host: c.GATEWAY_HOST,
    port: c.GATEWAY_PORT,
    instanceId: c.GATEWAY_INSTANCE_ID ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    databaseUrl: c.DATABASE_URL,
    kafka: { brokers: c.KAFKA_BROKERS, clientId: c.KAFKA_CLIENT_ID },
    topics: topicNames(c.KAFKA_TOPIC_PREFIX),
    auth: {
      tokenSecret: c.AUTH_TOKEN_SECRET,
      tokenTtlSeconds: c.AUTH_TOKEN_TTL_SECONDS,
      sessionRecheckSeconds: c.AUTH_SESSION_RECHECK_SECONDS,
      apiKeyLastUsedIntervalSeconds: c.API_KEY_LAST_USED_INTERVAL_SECONDS,
      apiKeyCacheSeconds: c.API_KEY_CACHE_SECONDS,
      login: {
        accountMaxFailures: c.LOGIN_ACCOUNT_MAX_FAILURES,
        addressMaxFailures: c.LOGIN_ADDRESS_MAX_FAILURES,
        lockoutBaseSeconds: c.LOGIN_LOCKOUT_BASE_SECONDS,
        lockoutMaxSeconds: Math.max(c.LOGIN_LOCKOUT_MAX_SECONDS, c.LOGIN_LOCKOUT_BASE_SECONDS),
        failureMemorySeconds: c.LOGIN_FAILURE_MEMORY_SECONDS,
      },
    },
    upload: {
      maxBytes: c.UPLOAD_MAX_BYTES,
      maxWidth: c.UPLOAD_MAX_WIDTH,
      maxHeight: c.UPLOAD_MAX_HEIGHT,
      maxPixels: c.UPLOAD_MAX_PIXELS,
      tokenTtlSeconds: c.UPLOAD_TOKEN_TTL_SECONDS,
      decode: {
        workers: c.UPLOAD_DECODE_WORKERS || Math.min(4, Math.max(1, availableParallelism() - 1)),
        queue: c.UPLOAD_DECODE_QUEUE,
        memoryMb: c.UPLOAD_DECODE_MEMORY_MB,
        idleMs: c.UPLOAD_DECODE_IDLE_MS,
        timeoutMs: c.UPLOAD_DECODE_TIMEOUT_MS,
        isolation: c.UPLOAD_DECODE_ISOLATION,
      },
      deidentify: {
        storeIdentified: c.STORE_IDENTIFIED_DICOM,
        storeIdentifiedTenants: c.STORE_IDENTIFIED_DICOM_TENANTS ?? [],
        // A separate key in the derivation: UID pseudonyms must not be usable to forge tokens, or the reverse.
        uidSecret: c.DEIDENTIFY_UID_SECRET ?? createHmac("sha256", c.AUTH_TOKEN_SECRET).update("dicom-uid-pseudonyms").digest("hex"),
      },
    },
    graphql: {
      limits: {
        maxDocumentBytes: c.GRAPHQL_MAX_DOCUMENT_BYTES,
        maxTokens: c.GRAPHQL_MAX_TOKENS,
        maxDepth: c.GRAPHQL_MAX_DEPTH,
        maxCost: c.GRAPHQL_MAX_COST,
        maxAliases: c.GRAPHQL_MAX_ALIASES,
        maxRootFields: c.GRAPHQL_MAX_ROOT_FIELDS,
        maxSelections: c.GRAPHQL_MAX_SELECTIONS,
      },
      introspection: c.GRAPHQL_INTROSPECTION,
      developmentChecks: c.GRAPHQL_DEVELOPMENT_CHECKS,
      rate: {
        burst: c.GRAPHQL_RATE_BURST,
        refillPerSecond: c.GRAPHQL_RATE_PER_SECOND,
        costPerToken: c.GRAPHQL_RATE_COST_PER_TOKEN,
        perPrincipalInFlight: c.GRAPHQL_MAX_IN_FLIGHT_PER_CALLER,
        maxInFlight: c.GRAPHQL_MAX_IN_FLIGHT,
        maxQueued: c.GRAPHQL_MAX_QUEUED,
        maxWaitMs: c.GRAPHQL_MAX_QUEUE_WAIT_MS,
        maxKeys: 100_000,
      },
    },
    http: { trustProxy: c.GATEWAY_TRUST_PROXY, hstsMaxAgeSeconds: c.GATEWAY_HSTS_MAX_AGE_SECONDS, tls: loadTls(c) },
    storageDir: c.STORAGE_DIR,
    imageStore: c.IMAGE_STORE,
    consoleDir: c.CONSOLE_DIR,
    outboxPollMs: c.OUTBOX_POLL_MS,
    outboxGatherMs: c.OUTBOX_GATHER_MS,
    subscriptions: {
      pollMs: c.SUBSCRIPTION_POLL_MS,
      coalesceMs: c.SUBSCRIPTION_COALESCE_MS,
      // never shorter than the replay age, or a cursor young enough to replay could point at pruned rows
      retentionMs: Math.max(c.TRANSITION_RETENTION_SECONDS, c.SUBSCRIPTION_REPLAY_MAX_AGE_SECONDS) * 1000,
      replay: { maxRows: c.SUBSCRIPTION_REPLAY_MAX_ROWS, maxAgeMs: c.SUBSCRIPTION_REPLAY_MAX_AGE_SECONDS * 1000 },
    },
    fhir: { baseUrl: c.FHIR_BASE_URL ?? null },
    pacsIngest: pacsIngestOf(c),
    deliveries: {
      dispatcher: c.DELIVERY_DISPATCHER,
      pacs: pacsOf(c),
      sourcePacs: c.ORTHANC_URL
        ? {
            url: c.ORTHANC_URL,
            credentials: c.ORTHANC_USERNAME && c.ORTHANC_PASSWORD ? { username: c.ORTHANC_USERNAME, password: c.ORTHANC_PASSWORD } : null,
          }
        : null,
      hl7: { sendingApplication: c.HL7_SENDING_APPLICATION, sendingFacility: c.HL7_SENDING_FACILITY },
      timeoutMs: c.DELIVERY_TIMEOUT_MS,
      egress: c.DELIVERY_EGRESS_ALLOW,
      options: {
        pollMs: c.DELIVERY_POLL_MS,
        batchSize: c.DELIVERY_BATCH_SIZE,
        leaseMs: Math.max(c.DELIVERY_LEASE_MS, c.DELIVERY_TIMEOUT_MS * 2),
        maxAttempts: c.DELIVERY_MAX_ATTEMPTS,
        backoff: {
          initialMs: c.DELIVERY_BACKOFF_INITIAL_MS,
          factor: 2,
          maxMs: Math.max(c.DELIVERY_BACKOFF_MAX_MS, c.DELIVERY_BACKOFF_INITIAL_MS),
        },
        completionSweepMs: c.DELIVERY_COMPLETION_SWEEP_MS,
        completionWindowMs: c.DELIVERY_COMPLETION_WINDOW_SECONDS * 1000,
      },
    },
    shutdownGraceMs: c.SHUTDOWN_GRACE_MS,
    logLevel: c.LOG_LEVEL,
  };
}

function pacsOf(c: {
  ORTHANC_URL?: string;
  ORTHANC_USERNAME?: string;
  ORTHANC_PASSWORD?: string;
  PACS_DICOMWEB_URL?: string;
}): PacsConfig | null {
  const url = c.PACS_DICOMWEB_URL ?? (c.ORTHANC_URL ? `${c.ORTHANC_URL.replace(/\/+$/, "")}/dicom-web` : null);
  if (!url) return null;
  const credentials = c.ORTHANC_USERNAME && c.ORTHANC_PASSWORD ? { username: c.ORTHANC_USERNAME, password: c.ORTHANC_PASSWORD } : null;
  return { dicomWebUrl: url.replace(/\/+$/, ""), credentials };
}

/** Reads the TLS files at start, so that a wrong path or a half configuration fails there with every problem named. */
function loadTls(c: { GATEWAY_TLS_CERT_FILE?: string; GATEWAY_TLS_KEY_FILE?: string }): { cert: Buffer; key: Buffer } | null {
  const certFile = c.GATEWAY_TLS_CERT_FILE;
  const keyFile = c.GATEWAY_TLS_KEY_FILE;
  if (!certFile && !keyFile) return null;
  const issues: string[] = [];
  if (!certFile) issues.push("GATEWAY_TLS_CERT_FILE: required when GATEWAY_TLS_KEY_FILE is set");
  if (!keyFile) issues.push("GATEWAY_TLS_KEY_FILE: required when GATEWAY_TLS_CERT_FILE is set");
  const read = (name: string, file: string | undefined, marker: RegExp, what: string) => {
    if (!file) return null;
    try {
      const pem = readFileSync(file);
      if (!marker.test(pem.toString("latin1"))) issues.push(`${name}: ${file} holds no PEM ${what}`);
      return pem;
    } catch (error) {
      issues.push(`${name}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
      return null;
    }
  };
  const cert = read("GATEWAY_TLS_CERT_FILE", certFile, /-----BEGIN CERTIFICATE-----/, "certificate");
  const key = read("GATEWAY_TLS_KEY_FILE", keyFile, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, "private key");
  if (issues.length || !cert || !key) throw new ConfigError("gateway", issues);
  return { cert, key };
}

function pacsIngestOf(c: {
  PACS_INGEST: boolean;
  PACS_INGEST_POLL_MS: number;
  PACS_INGEST_BATCH_SIZE: number;
  PACS_INGEST_MAX_INSTANCE_BYTES: number;
  STOW_MAX_BODY_BYTES: number;
  STOW_MAX_PARTS: number;
  STOW_MAX_CONCURRENT: number;
  ORTHANC_URL?: string;
  ORTHANC_USERNAME?: string;
  ORTHANC_PASSWORD?: string;
}): GatewayConfig["pacsIngest"] {
  if (!c.PACS_INGEST) return null;
  // the watcher reads Orthanc's own REST API (/changes, RemoteAET metadata): a plain DICOMweb server is not enough
  if (!c.ORTHANC_URL) throw new ConfigError("gateway", ["PACS_INGEST=true needs ORTHANC_URL (the watcher reads Orthanc's REST API)"]);
  return {
    orthanc: {
      url: c.ORTHANC_URL,
      credentials: c.ORTHANC_USERNAME && c.ORTHANC_PASSWORD ? { username: c.ORTHANC_USERNAME, password: c.ORTHANC_PASSWORD } : null,
    },
    options: {
      pollMs: c.PACS_INGEST_POLL_MS,
      batchSize: c.PACS_INGEST_BATCH_SIZE,
      maxInstanceBytes: c.PACS_INGEST_MAX_INSTANCE_BYTES,
      maxAttempts: 5,
      backoff: { initialMs: Math.min(1000, c.PACS_INGEST_POLL_MS), maxMs: 60_000 },
    },
    stow: { maxBodyBytes: c.STOW_MAX_BODY_BYTES, maxParts: c.STOW_MAX_PARTS, maxConcurrent: c.STOW_MAX_CONCURRENT },
  };
}
