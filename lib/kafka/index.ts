// lib/kafka is the only folder that imports kafkajs (no release since 2023): everything else uses this small
// interface (types.ts), so a KafkaJS-compatible client can replace it here. Producer: producer.ts. Consumer: offsets are committed only after
// `handle` resolves for a message (autoCommit off); a handler that throws gets the message again.
import { Kafka, logLevel as kafkajsLogLevel, type LogEntry, type Admin } from "kafkajs";
import { UnavailableError } from "../errors/index.ts";
import { createConsumer } from "./consumer.ts";
import { createProducer } from "./producer.ts";
import type { KafkaAdmin, KafkaClient, KafkaClientConfig, KafkaLogLevel } from "./types.ts";

export type * from "./types.ts";
export { producerStateLost, sendUntilAcknowledged, type PartitionAck, type RoutedMessage } from "./producer.ts";

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

/**
 * kafkajs sends describeConfigs to the broker its fresh metadata names as controller and gives up at once when that
 * broker refuses the connection (its metadata requests likewise, when they go to a broker that stopped). In KRaft that is any live broker, and for a moment after a broker stops the others
 * may still name it (the cluster tier failed on this after its broker stop). A few tries, 0.5 s apart.
 */
export async function retryWhileBrokerGone<T>(work: () => Promise<T>, tries = 6, delayMs = 500): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const { name, code } = error as { name?: string; code?: string };
      const refused = name === "KafkaJSConnectionError" || code === "ECONNREFUSED";
      if (!refused || attempt >= tries) throw error;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
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
        const [metadata] = (await retryWhileBrokerGone(() => client.fetchTopicMetadata({ topics: [topic] }))).topics;
        const configs = await retryWhileBrokerGone(() =>
          client.describeConfigs({
            includeSynonyms: false,
            resources: [{ type: TOPIC_RESOURCE, name: topic, configNames: ["min.insync.replicas"] }],
          }),
        );
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
    producer: () => createProducer(kafka, log),

    consumer: (options) => createConsumer(kafka, options),

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
