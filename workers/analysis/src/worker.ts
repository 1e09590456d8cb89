// createAnalysisWorker: the Kafka consumer loop around the inference engine.
//
// analysis.requested (consumer group, partitions in parallel, up to batch.size job messages of a partition at
// once; offsets committed as a contiguous prefix of handled messages) → processor (one job = one study image and
// its analyses: decode, dedupe, claim all, image → encoder once → every task head → one transaction writing every
// result and AnalysisCompleted outbox row) → offset commit, by lib/kafka, only after the handler resolved. Completions leave through the transactional outbox: this worker runs a relay as well as the
// gateway (they take turns under an advisory lock), so a completion is published even with no gateway up.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { assertServerVersion, ping, type Db } from "../../../lib/db/client.ts";
import { createModelVersionRepository } from "../../../lib/db/repositories/model-versions.ts";
import { createImageRepository } from "../../../lib/db/repositories/images.ts";
import { createHeartbeatRepository } from "../../../lib/db/repositories/operations.ts";
import { createOutboxRepository } from "../../../lib/db/repositories/outbox.ts";
import { createJobResultRepository } from "../../../lib/db/repositories/job-results.ts";
import type { AppError } from "../../../lib/errors/index.ts";
import { encodeEvent } from "../../../lib/events/index.ts";
import type { ImageStore } from "../../../lib/images/index.ts";
import type { IncomingMessage, KafkaClient, KafkaConsumer, KafkaProducer } from "../../../lib/kafka/index.ts";
import { createOutboxRelay, type OutboxRelay } from "../../../lib/outbox/index.ts";
import type { WorkerConfig } from "./config.ts";
import type { Engine } from "./inference/engine.ts";
import { errorInfo } from "./errors.ts";
import { silentLogger, type Logger } from "./logger.ts";
import { startHealthServer } from "./loop/health.ts";
import { createHeartbeat, type WorkerStatus } from "./loop/heartbeat.ts";
import { createImageLoader } from "./loop/images.ts";
import { registerModelVersion } from "./loop/model-version.ts";
import { createProcessor, Interrupted, type MessageReport } from "./loop/processor.ts";
import { createStats } from "./loop/stats.ts";
import type { ConsumedMessage, DeadLetterSink } from "./loop/types.ts";

export interface AnalysisWorkerDeps {
  config: WorkerConfig;
  db: Db;
  kafka: KafkaClient;
  engine: Engine;
  imageStore: ImageStore;
  logger?: Logger;
  /** run the outbox relay in this process too (default true) */
  relay?: boolean;
}

export interface AnalysisWorker {
  start(): Promise<void>;
  /** stop intake, finish the message in hand, commit, disconnect; idempotent */
  stop(): Promise<void>;
  /** bundle loaded + consumer joined + database answering */
  ready(): Promise<boolean>;
  /** port of /healthz and /readyz (after start) */
  readonly httpPort: number | undefined;
  stats(): ReturnType<ReturnType<typeof createStats>["snapshot"]>;
}

/** Thrown for messages that arrive after stop() began: not processed, not committed. */
class ShuttingDown extends Error {}

/** Raw message text for the dead letter; bytes that are not UTF-8 are kept as base64 so nothing is lost. */
function rawText(value: Buffer | null): { value: string | null; encoding: "utf8" | "base64" } {
  if (value === null) return { value: null, encoding: "utf8" };
  const text = value.toString("utf8");
  return Buffer.from(text, "utf8").equals(value)
    ? { value: text, encoding: "utf8" }
    : { value: value.toString("base64"), encoding: "base64" };
}

export function createAnalysisWorker(deps: AnalysisWorkerDeps): AnalysisWorker {
  const { config, db, kafka, engine, imageStore } = deps;
  const logger = deps.logger ?? silentLogger;
  const prisma = db.prisma;
  const topics = config.topics;
  const jobs = createJobResultRepository(prisma, topics, db.sql);
  const heartbeats = createHeartbeatRepository(prisma);
  const images = createImageLoader({ images: createImageRepository(prisma), store: imageStore, engine });
  const stats = createStats();
  const abort = new AbortController();

  let status: WorkerStatus = "STARTING";
  let producer: KafkaProducer | undefined;
  let consumer: KafkaConsumer | undefined;
  let relay: OutboxRelay | undefined;
  let health: { port: number; close(): Promise<void> } | undefined;
  let stopping: Promise<void> | undefined;
  let inFlight = 0;
  let draining = false;

  const deadLetter: DeadLetterSink = {
    async publish(message: ConsumedMessage, error: AppError, attempts: number) {
      if (!producer) throw new Error("producer not connected");
      const raw = rawText(message.value);
      const value = encodeEvent("DeadLetter", {
        type: "DeadLetter",
        version: 1,
        eventId: randomUUID(),
        original: {
          topic: message.topic,
          partition: message.partition,
          offset: message.offset,
          key: message.key,
          value: raw.value,
          headers: { ...(message.headers ?? {}), ...(raw.encoding === "base64" ? { "x-value-encoding": "base64" } : {}) },
        },
        error: errorInfo(error),
        failedAt: new Date().toISOString(),
        attempts,
      });
      await producer.send([{ topic: topics.deadLetter, key: message.key, value, headers: { "x-worker-id": config.workerId } }]);
      stats.deadLettered();
    },
  };

  const processor = createProcessor({
    engine,
    jobs,
    images,
    deadLetter,
    logger,
    groupId: config.kafka.groupId,
    retry: config.retry,
    heartbeatSliceMs: Math.floor(config.kafka.sessionTimeoutMs / 3),
    signal: abort.signal,
  });

  const heartbeat = createHeartbeat({
    beat: (input) => heartbeats.beat(input),
    workerId: config.workerId,
    bundle: `${engine.model.name}@${engine.model.version}`,
    bundleSha256: engine.model.bundleHash,
    intervalMs: config.heartbeatMs,
    logger,
    source: { status: () => status, inFlight: () => inFlight, processed: () => stats.processed(), failed: () => stats.failed() },
  });

  /**
   * Copies of one event in hand at once (the outbox relay publishes at least once: a relay that died between the
   * Kafka send and its mark sends the batch again, and both copies can reach this worker's batch). A copy waits
   * for the copy before it, then finds the message processed and skips it: a republish costs no try of the
   * crash-loop guard.
   */
  const byEventId = new Map<string, Promise<unknown>>();

  async function handle(message: IncomingMessage, context: { heartbeat(): Promise<void> }): Promise<void> {
    const eventId = message.headers["event-id"];
    const before = eventId ? byEventId.get(eventId) : undefined;
    const mine = (before ?? Promise.resolve()).catch(() => undefined).then(() => handleOne(message, context));
    if (eventId) byEventId.set(eventId, mine);
    try {
      await mine;
    } finally {
      if (eventId && byEventId.get(eventId) === mine) byEventId.delete(eventId);
    }
  }

  async function handleOne(message: IncomingMessage, context: { heartbeat(): Promise<void> }): Promise<void> {
    // Intake is stopped: refuse without committing, so the message goes to the next worker of the group.
    if (draining) throw new ShuttingDown(`worker ${config.workerId} is stopping`);
    inFlight += 1;
    if (status === "READY") status = "BUSY";
    try {
      const report: MessageReport = await processor.handle(message, context.heartbeat);
      stats.record(report);
    } catch (error) {
      // not even a dead letter could be written (database or broker away, or shutdown during a backoff):
      // the offset stays uncommitted and lib/kafka delivers the message again
      if (error instanceof Interrupted) throw error;
      logger.error("message left uncommitted, it will be redelivered", { partition: message.partition, offset: message.offset, error });
      throw error;
    } finally {
      inFlight -= 1;
      if (inFlight === 0 && status === "BUSY") status = "READY";
    }
  }

  const databaseOk = () => ping(prisma, 2000);

  async function readiness() {
    // the broker itself too: the consumer notices a lost broker only when a heartbeat or fetch fails
    const [database, kafkaOk] = await Promise.all([databaseOk(), kafka.reachable(2000)]);
    const checks = {
      bundle: engine.bundle.sessions.image_encoder !== undefined,
      consumer: consumer?.ready() ?? false,
      database,
      kafka: kafkaOk,
    };
    return { ready: status !== "STOPPING" && status !== "STOPPED" && Object.values(checks).every(Boolean), checks };
  }

  async function start(): Promise<void> {
    if (!(await databaseOk())) throw new Error(`analysis worker: database at ${new URL(config.databaseUrl).host} is not reachable`);
    await assertServerVersion(prisma);
    const registered = await registerModelVersion(createModelVersionRepository(prisma), engine.bundle);
    if (registered.conflict) logger.warn("a ModelVersion with this name and version has another bundle hash", { model: engine.model });
    await heartbeat.beat("STARTING");

    const admin = await kafka.admin();
    try {
      await admin.ensureTopics([topics.requested, topics.completed, topics.deadLetter]);
    } finally {
      await admin.disconnect();
    }
    producer = await kafka.producer();
    if (deps.relay ?? true) {
      relay = createOutboxRelay({
        outbox: createOutboxRepository(prisma),
        producer,
        databaseUrl: config.databaseUrl,
        log: (level, message, extra) => logger[level](message, extra),
      });
      await relay.start();
    }
    health = await startHealthServer(config.http.host, config.http.port, {
      ready: readiness,
      stats: () => ({ workerId: config.workerId, status, ...stats.snapshot(), engine: engine.stats() }),
    });

    consumer = kafka.consumer({
      groupId: config.kafka.groupId,
      topics: [topics.requested],
      // a new group must see requests published before its first worker joined
      fromBeginning: true,
      sessionTimeoutMs: config.kafka.sessionTimeoutMs,
      partitionsConsumedConcurrently: config.batch.size,
      // twice the encoder's batch in flight, from any partitions: while one batch runs, the next is fetched,
      // decoded and waiting in the micro-batcher (lib/kafka/pipeline.ts), instead of being fetched only after
      // the running jobs' writes finished
      pipeline: { maxInFlight: 2 * config.batch.size },
      handle,
      // a crash kafkajs does not restart from (its retries against a lost broker ran out): lib/kafka starts the
      // consumer again with back-off; /readyz says not ready until it has re-joined
      onCrash: (error) => logger.error("consumer crashed; restarting it with back-off", { error }),
      onRestart: ({ attempt, delayMs, error }) => logger.warn("consumer restart scheduled", { attempt, delayMs, error: error?.message }),
      // in its group but not moving (a stale group coordinator, partitions whose leader moved): replaced, and
      // /readyz says not ready until the new member has joined
      stallWatchdog: { stallAfterMs: config.kafka.stallAfterMs },
      onStall: (info) => logger.error("consumer stalled; replacing it", { ...info }),
    });
    await consumer.start();
    status = "READY";
    heartbeat.start();
    await heartbeat.beat();
    logger.info("analysis worker ready", {
      workerId: config.workerId,
      model: engine.model,
      group: config.kafka.groupId,
      topic: topics.requested,
      httpPort: health.port,
    });
  }

  async function stopNow(): Promise<void> {
    status = "STOPPING";
    draining = true;
    // Drain while the consumer still runs: kafkajs drops commits made after its stop() began, so the messages
    // in hand must finish (and lib/kafka commit them) before the consumer is told to stop. drain() stops
    // lib/kafka's intake at once (batch mode) and resolves once the messages in hand are committed.
    const drained = consumer?.drain(config.shutdownGraceMs);
    await heartbeat.beat();
    // interrupt retry backoffs: that message stays uncommitted and is redelivered to another worker
    abort.abort();
    const deadline = Date.now() + config.shutdownGraceMs;
    await drained;
    while (inFlight > 0 && Date.now() < deadline) await sleep(20);
    if (inFlight > 0)
      logger.warn("in-flight work did not finish within the shutdown grace period", { inFlight, graceMs: config.shutdownGraceMs });
    await consumer?.stop().catch((error: Error) => logger.warn("consumer stop failed", { error }));
    heartbeat.stop();
    await relay?.stop().catch((error: Error) => logger.warn("outbox relay stop failed", { error }));
    await producer?.disconnect().catch((error: Error) => logger.warn("producer disconnect failed", { error }));
    await health?.close();
    status = "STOPPED";
    await heartbeat.beat();
    logger.info("analysis worker stopped", { workerId: config.workerId, ...stats.snapshot().counts });
  }

  return {
    start,
    stop: () => (stopping ??= stopNow()),
    ready: async () => (await readiness()).ready,
    get httpPort() {
      return health?.port;
    },
    stats: () => stats.snapshot(),
  };
}
