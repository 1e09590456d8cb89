// The platform's producer: idempotent, acks=all, murmur2 partitioning (Java-compatible, so a key always lands on
// the same partition).
//
// kafkajs 2.2.4 can resolve a send without having written some of its messages. A send that spans brokers keeps
// each broker's answer across its retries; when one broker fails (the leader of its partitions stopped), the retry
// refreshes metadata but sends only to brokers that have not answered yet, so a partition whose new leader is a
// broker that already answered is dropped without an error (tulios/kafkajs#1303; the fix, PR #1798, is unreleased).
// Our 3-broker test saw it: 3 of 25 requests acknowledged to the outbox and never in the log. So each message is
// given its partition here, with kafkajs's own partitioner, and a send counts only when every partition it wrote
// to is in the answer; the messages of partitions missing from it are sent again.
import { Partitioners, type Admin, type Kafka, type PartitionMetadata, type Producer } from "kafkajs";
import { UnavailableError } from "../errors/index.ts";
import type { KafkaProducer, OutgoingMessage } from "./types.ts";

/** One message with the partition it goes to. */
export interface RoutedMessage extends OutgoingMessage {
  partition: number;
}

/** A partition a send was acknowledged for (kafkajs's RecordMetadata, the fields used here). */
export interface PartitionAck {
  topicName: string;
  partition: number;
}

/** Sends a batch and answers with the partitions the brokers acknowledged (kafkajs's sendBatch). */
export type SendRouted = (messages: RoutedMessage[]) => Promise<PartitionAck[]>;

const slot = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * Send `messages` until every partition they go to is acknowledged: the messages of partitions missing from an
 * answer are sent again (at most `rounds` sends in all; a message may then be in the log twice, never missing).
 */
export async function sendUntilAcknowledged(
  send: SendRouted,
  messages: RoutedMessage[],
  options: { rounds?: number; onPartial?: (missing: string[]) => void } = {},
): Promise<void> {
  const rounds = options.rounds ?? 5;
  let pending = messages;
  for (let round = 1; pending.length > 0; round++) {
    const acks = await send(pending);
    const acknowledged = new Set(acks.map((ack) => slot(ack.topicName, ack.partition)));
    pending = pending.filter((message) => !acknowledged.has(slot(message.topic, message.partition)));
    if (pending.length === 0) return;
    const missing = [...new Set(pending.map((message) => `${message.topic}[${message.partition}]`))];
    options.onPartial?.(missing);
    if (round >= rounds)
      throw new UnavailableError(`Kafka acknowledged a send without partitions ${missing.join(", ")} ${rounds} times in a row`, {
        details: { missing },
      });
  }
}

const LOST_PRODUCER_STATE = new Set(["OUT_OF_ORDER_SEQUENCE_NUMBER", "UNKNOWN_PRODUCER_ID", "INVALID_PRODUCER_EPOCH"]);

/** Whether a send failed because the brokers no longer accept this producer's id/epoch/sequence. */
export function producerStateLost(error: unknown): boolean {
  const seen = new Set<unknown>();
  let e: unknown = error;
  while (e && typeof e === "object" && !seen.has(e)) {
    seen.add(e);
    const { type, message } = e as { type?: unknown; message?: unknown };
    if (typeof type === "string" && LOST_PRODUCER_STATE.has(type)) return true;
    if (typeof message === "string" && /out of order sequence number/i.test(message)) return true;
    e = (e as { cause?: unknown; originalError?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
  }
  return false;
}

/** Partition metadata is read again after this long (partitions can be added to a topic, never removed). */
const METADATA_MAX_AGE_MS = 60_000;

export async function createProducer(
  kafka: Kafka,
  log: (level: "warn", message: string, extra: Record<string, unknown>) => void,
): Promise<KafkaProducer> {
  const open = async (): Promise<Producer> => {
    const p = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    await p.connect();
    return p;
  };
  let producer = await open();
  const partitioner = Partitioners.DefaultPartitioner();

  // partition metadata per topic, for routing messages here (the producer's own metadata is not public)
  // one connection however many sends start at once (each first send would otherwise open its own, and all but one
  // would stay open)
  let admin: Promise<Admin> | undefined;
  const connectAdmin = async () => {
    const client = kafka.admin();
    await client.connect();
    return client;
  };
  const partitionsOf = new Map<string, { at: number; partitions: PartitionMetadata[] }>();
  async function route(messages: OutgoingMessage[]): Promise<RoutedMessage[]> {
    const stale = [...new Set(messages.map((m) => m.topic))].filter((topic) => {
      const known = partitionsOf.get(topic);
      return !known || Date.now() - known.at > METADATA_MAX_AGE_MS;
    });
    if (stale.length > 0) {
      admin ??= connectAdmin();
      const connecting = admin;
      // a failed connect is tried again by the next send
      connecting.catch(() => {
        if (admin === connecting) admin = undefined;
      });
      const { topics } = await (await connecting).fetchTopicMetadata({ topics: stale });
      for (const topic of topics) partitionsOf.set(topic.name, { at: Date.now(), partitions: topic.partitions });
    }
    return messages.map((message) => {
      const partitionMetadata = partitionsOf.get(message.topic)?.partitions ?? [];
      if (partitionMetadata.length === 0) throw new UnavailableError(`Kafka topic ${message.topic} has no partitions`);
      const partition = partitioner({ topic: message.topic, partitionMetadata, message: { key: message.key, value: message.value } });
      return { ...message, partition };
    });
  }

  return {
    async send(messages) {
      const routed = await route(messages);
      const current = producer;
      try {
        await sendUntilAcknowledged(
          async (batch) => {
            const byTopic = new Map<string, RoutedMessage[]>();
            for (const message of batch) {
              const list = byTopic.get(message.topic);
              if (list) list.push(message);
              else byTopic.set(message.topic, [message]);
            }
            return current.sendBatch({
              acks: -1,
              topicMessages: [...byTopic].map(([topic, list]) => ({
                topic,
                messages: list.map((m) => ({ key: m.key, value: m.value, headers: m.headers, partition: m.partition })),
              })),
            });
          },
          routed,
          {
            onPartial: (missing) =>
              log("warn", "Kafka acknowledged a send without some of its partitions: sending them again", { missing }),
          },
        );
      } catch (error) {
        // After a partition changes leader mid-send, KafkaJS's idempotent producer can stay out of step with the
        // brokers' sequence numbers and fail every later send (tulios/kafkajs#598). A new producer gets a new
        // producer id; the caller's retry then goes through it (a duplicate is possible, a loss is not).
        if (producer === current && producerStateLost(error)) {
          producer = await open();
          void current.disconnect().catch(() => undefined);
        }
        throw error;
      }
    },
    async disconnect() {
      const connecting = admin;
      admin = undefined;
      await connecting?.then((client) => client.disconnect()).catch(() => undefined);
      await producer.disconnect();
    },
  };
}
