// This replica's Kafka consumer for subscription messages. Its group is `gateway-<instanceId>`, unique per
// replica, so every replica sees every event (a shared group would split them between replicas).
// - analysis.completed → SUCCEEDED / FAILED / CANCELLED updates;
// - analysis.requested → QUEUED updates (so a QUEUED made on another replica reaches this one's clients).
// Subscriptions are live updates (history is read with queries), so events from before this replica started
// are skipped. The group reads from the beginning and skips by message timestamp rather than starting at
// "latest": a new group resolves "latest" only after it has joined, so an event published right after
// start() could otherwise be missed. Skipping costs no database work.
// A malformed event is logged and skipped (it must not block the partition); a database error is thrown so
// that the message is redelivered.
import { decodeEvent, type TopicNames } from "../../../../lib/events/index.ts";
import { isAppError } from "../../../../lib/errors/index.ts";
import type { KafkaClient, KafkaConsumer, IncomingMessage } from "../../../../lib/kafka/index.ts";
import type { Db } from "../repositories-ext/db.ts";
import type { Logger } from "../logger.ts";
import { transitionKey, type AnalysisUpdates } from "./updates.ts";

export interface CompletionConsumerDeps {
  kafka: KafkaClient;
  groupId: string;
  topics: TopicNames;
  db: Db;
  updates: AnalysisUpdates;
  logger: Logger;
}

/** Events this much older than the replica's start are history, not live updates. */
const START_SLACK_MS = 5_000;

export function createCompletionConsumer(deps: CompletionConsumerDeps): KafkaConsumer & { received(): number } {
  const { db, updates, logger, topics } = deps;
  let received = 0;
  let startedAt = Number.POSITIVE_INFINITY;

  async function handle(message: IncomingMessage): Promise<void> {
    if (Number(message.timestamp) < startedAt - START_SLACK_MS) return;
    received++;
    try {
      if (message.topic === topics.completed) {
        const event = decodeEvent("AnalysisCompleted", message.value);
        const analysis = await db.analysis.findFirst({ where: { id: event.analysisId, tenantId: event.tenantId } });
        if (!analysis) return logger.warn("completion for an unknown analysis", { analysisId: event.analysisId });
        updates.publish(analysis, event.status, transitionKey(analysis.id, event.status, event.finishedAt), new Date(event.finishedAt));
      } else if (message.topic === topics.requested) {
        const event = decodeEvent("AnalysisRequested", message.value);
        const analysis = await db.analysis.findFirst({ where: { id: event.analysisId, tenantId: event.tenantId } });
        if (!analysis) return;
        updates.publish(analysis, "QUEUED", transitionKey(analysis.id, "QUEUED", String(event.attempt)), new Date(event.requestedAt));
      }
    } catch (error) {
      if (isAppError(error) && error.code === "INVALID_EVENT") {
        logger.warn("skipping malformed event", {
          topic: message.topic,
          partition: message.partition,
          offset: message.offset,
          error: error.message,
        });
        return;
      }
      throw error;
    }
  }

  const consumer = deps.kafka.consumer({
    groupId: deps.groupId,
    topics: [topics.completed, topics.requested],
    fromBeginning: true,
    // Order matters only per study (the key); partitions may be handled in parallel.
    partitionsConsumedConcurrently: 3,
    handle,
    onCrash: (error) => logger.error("completion consumer crashed", { error, groupId: deps.groupId }),
  });
  return {
    ...consumer,
    start: (options) => {
      startedAt = Date.now();
      return consumer.start(options);
    },
    received: () => received,
  };
}
