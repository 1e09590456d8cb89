// This replica's Kafka consumer for subscription wake-ups. Its group is `gateway-<instanceId>`, unique per
// replica, so every replica sees every event (a shared group would split them between replicas).
// analysis.completed and analysis.requested mean a transition was committed (by the worker or another replica):
// the event only wakes the transition tailer (tailer.ts), which reads the transition from the log, where it
// has a durable position. The events carry no position, and their order across partitions is not the log's,
// so they are never delivered themselves. Events from before this replica started are skipped (the tailer
// starts at the log's end); the group reads from the beginning and skips by timestamp, because a new group
// resolves "latest" only after it has joined.
import type { TopicNames } from "../../../../lib/events/index.ts";
import type { KafkaClient, KafkaConsumer, IncomingMessage } from "../../../../lib/kafka/index.ts";
import type { Logger } from "../logger.ts";
import type { AnalysisUpdates } from "./updates.ts";

export interface CompletionConsumerDeps {
  kafka: KafkaClient;
  groupId: string;
  topics: TopicNames;
  updates: AnalysisUpdates;
  logger: Logger;
}

/** Events this much older than the replica's start are history, not live updates. */
const START_SLACK_MS = 5_000;

export function createCompletionConsumer(deps: CompletionConsumerDeps): KafkaConsumer & { received(): number } {
  const { updates, logger, topics } = deps;
  let received = 0;
  let startedAt = Number.POSITIVE_INFINITY;

  async function handle(message: IncomingMessage): Promise<void> {
    if (Number(message.timestamp) < startedAt - START_SLACK_MS) return;
    received++;
    updates.changed();
  }

  const consumer = deps.kafka.consumer({
    groupId: deps.groupId,
    topics: [topics.completed, topics.requested],
    fromBeginning: true,
    partitionsConsumedConcurrently: 3,
    // Batch mode: the handler only wakes the tailer, so a fetched batch is handled at once and its offsets go out
    // as one commit. Message by message, every event cost an OffsetCommit (8 a study: 4 requested, 4 completed),
    // the largest share of the broker's requests in the bench's pipeline rounds.
    messageConcurrency: 64,
    // Latency comes from the outbox NOTIFY (gateway.ts wakes the tailer with it) and the tailer's poll; this
    // consumer is the wake-up of last resort, so its fetches gather for up to 250 ms (half the tailer's default
    // poll) instead of returning on every produce: one fetch and commit per quarter second under load.
    fetch: { minBytes: 1 << 20, maxWaitTimeInMs: 250 },
    handle,
    onCrash: (error) => logger.error("completion consumer crashed", { error, groupId: deps.groupId }),
    onStall: (info) => logger.error("completion consumer stalled; replacing it", { ...info, groupId: deps.groupId }),
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
