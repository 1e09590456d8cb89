// The only module that imports kafkajs (no release since 2023): everything else uses this small interface,
// so a KafkaJS-compatible client can replace it here. Producer: idempotent, acks=all, murmur2 partitioning
// (Java-compatible, so a key always lands on the same partition). Consumer: offsets are committed only after
// `handle` resolves for a message (autoCommit off); a handler that throws gets the message again.
import {
  Kafka,
  logLevel as kafkajsLogLevel,
  Partitioners,
  type Consumer,
  type KafkaMessage,
  type LogEntry,
  type Producer,
  type Admin,
} from "kafkajs";
import { UnavailableError } from "../errors/index.ts";
import { handleBatchConcurrently } from "./batch.ts";

export type KafkaLogLevel = "nothing" | "error" | "warn" | "info" | "debug";

export interface KafkaClientConfig {
  brokers: string[];
  clientId: string;
  /** default "error": kafkajs is chatty at warn/info */
  logLevel?: KafkaLogLevel;
  /** receives kafkajs log lines at or above logLevel (default: console.error) */
  log?: (level: KafkaLogLevel, message: string, extra: Record<string, unknown>) => void;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export interface OutgoingMessage {
  topic: string;
  /** the partitioning key: messages with one key keep their order (we key by study id) */
  key: string | null;
  value: string | Buffer;
  headers?: Record<string, string>;
}

export interface IncomingMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: string;
}

export interface HandlerContext {
  /** call during long processing to keep the group membership alive */
  heartbeat(): Promise<void>;
}

export interface KafkaProducer {
  send(messages: OutgoingMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /** where a new group starts: earliest (true) or latest (false, default) */
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** partitions processed in parallel (order is kept within a partition) */
  partitionsConsumedConcurrently?: number;
  /**
   * Batch mode when > 1: up to this many messages of one partition's fetched batch are handled at once
   * (eachBatch). Offsets are still committed only after `handle` resolved, and only as a contiguous prefix:
   * offset n+1 is committed once messages ..n of the batch are all done, so a crash redelivers exactly what was
   * not committed (handled-but-uncommitted messages come again: handlers must be idempotent). A handler that
   * throws stops intake for that batch; the done prefix is committed and the failed message comes again.
   * Default 1: one message at a time per partition (eachMessage).
   */
  messageConcurrency?: number;
  handle(message: IncomingMessage, context: HandlerContext): Promise<void>;
  /**
   * The consumer crashed with an error kafkajs does not restart from (e.g. its retries against an unreachable
   * broker ran out). By default the consumer is started again (connect, re-join, same topics) with back-off
   * (`restartBackoffMs`, doubling up to `restartMaxBackoffMs`) until it joins or is stopped; onCrash is only told.
   * With `restartOnCrash: false` it stays stopped.
   */
  onCrash?(error: Error): void;
  /** default true: see onCrash */
  restartOnCrash?: boolean;
  /** first wait before a restart after a crash (default 1000) */
  restartBackoffMs?: number;
  /** longest wait between restart attempts (default 30000) */
  restartMaxBackoffMs?: number;
  /** a restart attempt after a crash (attempt 1, 2, ...) failed or is scheduled */
  onRestart?(info: { attempt: number; delayMs: number; error?: Error }): void;
}

export interface KafkaConsumer {
  /** connect, subscribe, run; resolves once the consumer has joined its group (or rejects after joinTimeoutMs) */
  start(options?: { joinTimeoutMs?: number }): Promise<void>;
  /**
   * Stop taking new messages and wait (at most timeoutMs) until the messages in hand are handled and their
   * offsets committed, while the consumer still runs (kafkajs drops commits made after its stop began).
   * Batch mode only stops intake itself; in eachMessage mode the handler has to refuse new messages.
   */
  drain(timeoutMs: number): Promise<boolean>;
  /** drain (batch mode, 30 s at most), then leave the group and disconnect */
  stop(): Promise<void>;
  /** joined the group and running */
  ready(): boolean;
}

export interface TopicSpec {
  topic: string;
  numPartitions?: number;
  configEntries?: { name: string; value: string }[];
}

export interface KafkaAdmin {
  /**
   * Create the topics that do not exist yet; returns the names created. Replicas: `replicationFactor`, else as
   * many as the cluster has brokers, at most 3; from 3 replicas up min.insync.replicas is 2 (with the producer's
   * acks=all a write then survives the loss of any one broker), else 1.
   */
  ensureTopics(topics: (string | TopicSpec)[], defaults?: { numPartitions?: number; replicationFactor?: number }): Promise<string[]>;
  /** brokers the cluster reports as members now */
  brokerCount(): Promise<number>;
  /** per partition: leader, replicas and in-sync replicas (broker ids), and the topic's min.insync.replicas */
  describeTopic(
    topic: string,
  ): Promise<{ minInsyncReplicas: number; partitions: { partition: number; leader: number; replicas: number[]; isr: number[] }[] }>;
  listTopics(): Promise<string[]>;
  deleteTopics(topics: string[]): Promise<void>;
  /** high-water marks per partition (for tests and lag metrics) */
  topicOffsets(topic: string): Promise<{ partition: number; high: string; low: string }[]>;
  groupOffsets(groupId: string, topic: string): Promise<{ partition: number; offset: string }[]>;
  disconnect(): Promise<void>;
}

export interface KafkaClient {
  producer(): Promise<KafkaProducer>;
  consumer(options: ConsumerOptions): KafkaConsumer;
  admin(): Promise<KafkaAdmin>;
  /** retry until the cluster answers metadata requests, or throw UnavailableError */
  waitUntilReady(timeoutMs?: number): Promise<void>;
  /** one quick probe for readiness checks: does a broker answer a metadata request within timeoutMs (no retries)? */
  reachable(timeoutMs?: number): Promise<boolean>;
}

/** kafkajs's ConfigResourceTypes.TOPIC (its CommonJS export is not visible to an ESM named import) */
const TOPIC_RESOURCE = 2;

const LEVELS: Record<KafkaLogLevel, kafkajsLogLevel> = {
  nothing: kafkajsLogLevel.NOTHING,
  error: kafkajsLogLevel.ERROR,
  warn: kafkajsLogLevel.WARN,
  info: kafkajsLogLevel.INFO,
  debug: kafkajsLogLevel.DEBUG,
};
const NAMES: Record<number, KafkaLogLevel> = { 0: "nothing", 1: "error", 2: "warn", 4: "info", 5: "debug" };

function headersToStrings(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (value === undefined || value === null) continue;
    out[key] = Array.isArray(value) ? value.map(String).join(",") : Buffer.isBuffer(value) ? value.toString("utf8") : String(value);
  }
  return out;
}

async function waitForTopicLeaders(client: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: found } = await client.fetchTopicMetadata({ topics });
      if (found.length === topics.length && found.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new UnavailableError(`Kafka topics ${topics.join(", ")} have no leaders after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export function createKafka(config: KafkaClientConfig): KafkaClient {
  const log = config.log ?? ((level, message, extra) => console.error(`[kafka ${level}] ${message}`, extra));
  const kafka = new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    connectionTimeout: config.connectionTimeoutMs ?? 5000,
    requestTimeout: config.requestTimeoutMs ?? 30_000,
    logLevel: LEVELS[config.logLevel ?? "error"],
    logCreator: () => (entry: LogEntry) => {
      const { message, ...extra } = entry.log;
      log(NAMES[entry.level] ?? "info", `${entry.namespace}: ${message}`, extra);
    },
    retry: { initialRetryTime: 200, retries: 8 },
  });

  async function admin(): Promise<KafkaAdmin> {
    const client: Admin = kafka.admin();
    await client.connect();
    return {
      async ensureTopics(topics, defaults = {}) {
        const specs = topics.map((t) => (typeof t === "string" ? { topic: t } : t));
        const existing = new Set(await client.listTopics());
        const missing = specs.filter((spec) => !existing.has(spec.topic));
        if (missing.length === 0) return [];
        const replicationFactor = defaults.replicationFactor ?? Math.min(3, (await client.describeCluster()).brokers.length);
        const minInsync = { name: "min.insync.replicas", value: String(replicationFactor >= 3 ? 2 : 1) };
        try {
          await client.createTopics({
            waitForLeaders: false,
            topics: missing.map((spec) => ({
              topic: spec.topic,
              numPartitions: spec.numPartitions ?? defaults.numPartitions ?? 3,
              replicationFactor,
              // a spec's own min.insync.replicas wins
              configEntries: spec.configEntries?.some((e) => e.name === minInsync.name)
                ? spec.configEntries
                : [...(spec.configEntries ?? []), minInsync],
            })),
          });
        } catch (error) {
          // another process created them meanwhile
          if (!String((error as Error).message).includes("already exists")) throw error;
        }
        // In a cluster, a broker learns of a new topic a moment after the controller created it; kafkajs's
        // wait for leaders gives up on the first "does not host this topic-partition" from such a broker.
        await waitForTopicLeaders(
          client,
          missing.map((spec) => spec.topic),
        );
        return missing.map((spec) => spec.topic);
      },
      listTopics: () => client.listTopics(),
      brokerCount: async () => (await client.describeCluster()).brokers.length,
      async describeTopic(topic) {
        const [metadata] = (await client.fetchTopicMetadata({ topics: [topic] })).topics;
        const configs = await client.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: TOPIC_RESOURCE, name: topic, configNames: ["min.insync.replicas"] }],
        });
        const minIsr = configs.resources[0]?.configEntries.find((e) => e.configName === "min.insync.replicas")?.configValue;
        return {
          minInsyncReplicas: Number(minIsr),
          partitions: (metadata?.partitions ?? []).map((p) => ({
            partition: p.partitionId,
            leader: p.leader,
            replicas: p.replicas,
            isr: p.isr,
          })),
        };
      },
      async deleteTopics(names) {
        if (names.length) await client.deleteTopics({ topics: names, timeout: 30_000 });
      },
      async topicOffsets(topic) {
        return (await client.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, high: p.high, low: p.low }));
      },
      async groupOffsets(groupId, topic) {
        const [result] = await client.fetchOffsets({ groupId, topics: [topic] });
        return (result?.partitions ?? []).map((p) => ({ partition: p.partition, offset: p.offset }));
      },
      disconnect: () => client.disconnect(),
    };
  }

  return {
    async producer() {
      const producer: Producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: false,
      });
      await producer.connect();
      return {
        async send(messages) {
          const byTopic = new Map<string, OutgoingMessage[]>();
          for (const message of messages) byTopic.set(message.topic, [...(byTopic.get(message.topic) ?? []), message]);
          await producer.sendBatch({
            acks: -1,
            topicMessages: [...byTopic].map(([topic, list]) => ({
              topic,
              messages: list.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
            })),
          });
        },
        disconnect: () => producer.disconnect(),
      };
    },

    consumer(options) {
      const consumer: Consumer = kafka.consumer({
        groupId: options.groupId,
        sessionTimeout: options.sessionTimeoutMs ?? 30_000,
        heartbeatInterval: options.heartbeatIntervalMs ?? 3000,
        allowAutoTopicCreation: false,
        retry: { initialRetryTime: 300, retries: 10 },
      });
      let joined = false;
      let running = false;
      let stopping = false;
      // handlers + their commits in progress: drain() waits for them while the consumer still runs
      let active = 0;
      const track = async (work: Promise<void>) => {
        active += 1;
        try {
          await work;
        } finally {
          active -= 1;
        }
      };
      const drain = async (timeoutMs: number) => {
        stopping = true;
        const deadline = Date.now() + timeoutMs;
        while (active > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        return active === 0;
      };
      consumer.on(consumer.events.GROUP_JOIN, () => {
        joined = true;
      });
      // what start() passed to consumer.run, for restarts after a crash kafkajs does not restart from
      let runConfig: Parameters<Consumer["run"]>[0] | undefined;
      let restartTimer: NodeJS.Timeout | undefined;
      let restartAttempt = 0;
      const baseBackoff = options.restartBackoffMs ?? 1000;
      const maxBackoff = options.restartMaxBackoffMs ?? 30_000;
      const scheduleRestart = (error?: Error) => {
        if (stopping || !running || restartTimer) return;
        restartAttempt += 1;
        const delayMs = Math.min(maxBackoff, baseBackoff * 2 ** (restartAttempt - 1));
        options.onRestart?.({ attempt: restartAttempt, delayMs, error });
        restartTimer = setTimeout(() => {
          restartTimer = undefined;
          if (stopping || !running || !runConfig) return;
          // connect + run again: the subscriptions are kept by the kafkajs consumer; kafkajs re-joins the group
          consumer
            .connect()
            .then(() => consumer.run(runConfig))
            .catch((e: Error) => {
              void consumer.disconnect().catch(() => undefined);
              scheduleRestart(e);
            });
        }, delayMs);
        restartTimer.unref?.();
      };
      consumer.on(consumer.events.GROUP_JOIN, () => {
        restartAttempt = 0;
      });
      consumer.on(consumer.events.CRASH, (event) => {
        joined = false;
        if (!event.payload.restart) {
          options.onCrash?.(event.payload.error);
          if (options.restartOnCrash ?? true) scheduleRestart(event.payload.error);
          else running = false;
        }
      });
      return {
        async start({ joinTimeoutMs = 60_000 } = {}) {
          await consumer.connect();
          await consumer.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning ?? false });
          const joinedPromise = new Promise<void>((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new UnavailableError(`consumer ${options.groupId} did not join its group within ${joinTimeoutMs} ms`)),
              joinTimeoutMs,
            );
            const remove = consumer.on(consumer.events.GROUP_JOIN, () => {
              clearTimeout(timer);
              remove();
              resolve();
            });
          });
          running = true;
          const toIncoming = (topic: string, partition: number, message: KafkaMessage): IncomingMessage => ({
            topic,
            partition,
            offset: message.offset,
            key: message.key ? message.key.toString("utf8") : null,
            value: message.value,
            headers: headersToStrings(message.headers as Record<string, unknown> | undefined),
            timestamp: message.timestamp,
          });
          const concurrency = options.messageConcurrency ?? 1;
          if (concurrency > 1) {
            runConfig = {
              autoCommit: false,
              eachBatchAutoResolve: false,
              partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
              eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, pause }) => {
                const { topic, partition } = batch;
                await track(
                  handleBatchConcurrently(
                    {
                      messages: batch.messages,
                      resolveOffset,
                      // committed only after the handlers of this offset and every earlier one finished
                      commit: (offset) => consumer.commitOffsets([{ topic, partition, offset }]),
                      heartbeat,
                      canContinue: () => isRunning() && !isStale(),
                      stopping: () => stopping,
                      pause: () => void pause(),
                    },
                    concurrency,
                    (message) => options.handle(toIncoming(topic, partition, message), { heartbeat }),
                  ),
                );
              },
            };
          } else {
            runConfig = {
              autoCommit: false,
              partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
              eachMessage: ({ topic, partition, message, heartbeat }) =>
                track(
                  (async () => {
                    await options.handle(toIncoming(topic, partition, message), { heartbeat });
                    // committed only after the handler finished (its result is stored): at-least-once delivery
                    await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
                  })(),
                ),
            };
          }
          await consumer.run(runConfig);
          await joinedPromise;
        },
        drain,
        async stop() {
          if (running && (options.messageConcurrency ?? 1) > 1) await drain(30_000);
          running = false;
          joined = false;
          if (restartTimer) clearTimeout(restartTimer);
          restartTimer = undefined;
          await consumer.disconnect();
        },
        ready: () => running && joined,
      };
    },

    admin,

    async reachable(timeoutMs = 2000) {
      const probe: Admin = kafka.admin({ retry: { retries: 0 } });
      let timer: NodeJS.Timeout | undefined;
      const check = (async () => {
        await probe.connect();
        await probe.listTopics();
        return true;
      })();
      try {
        return await Promise.race([check, new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]).catch(
          () => false,
        );
      } finally {
        clearTimeout(timer);
        // also after a timeout: the probe's connection attempt is closed once it settles
        void check.catch(() => false).finally(() => probe.disconnect().catch(() => undefined));
      }
    },

    async waitUntilReady(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let lastError: unknown;
      while (Date.now() < deadline) {
        try {
          const client = await admin();
          try {
            await client.listTopics();
            return;
          } finally {
            await client.disconnect();
          }
        } catch (error) {
          lastError = error;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      throw new UnavailableError(`Kafka at ${config.brokers.join(",")} not ready after ${timeoutMs} ms: ${(lastError as Error)?.message}`);
    },
  };
}
