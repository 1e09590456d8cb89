// The contracts of lib/kafka: what the rest of the platform sees of Kafka (no kafkajs types leak out).
import type { StallInfo } from "./stall-watchdog.ts";

export type { StallInfo };

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
  /**
   * How long a fetch may wait on the broker for `minBytes` to arrive (kafkajs defaults: 5000 ms, 1 byte, so a
   * fetch returns as soon as any message is there). A consumer that needs no low latency can gather: with a large
   * minBytes every fetch waits up to maxWaitTimeInMs and brings everything produced meanwhile, one fetch (and one
   * commit per partition batch) instead of one per produce.
   */
  fetch?: { minBytes?: number; maxWaitTimeInMs?: number };
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
  /**
   * Pipelined mode (lib/kafka/pipeline.ts; takes precedence over messageConcurrency): up to maxInFlight messages
   * across all partitions are handled at once, and a fetched batch only launches its messages, so the next fetch
   * comes while they run (in batch mode kafkajs fetches again only after the whole batch finished). Commits are
   * the same contiguous prefix of handled messages; a handler that throws makes the consumer replace its group
   * member with back-off, which starts again from that prefix (the failed message and those after it come again).
   */
  pipeline?: { maxInFlight: number };
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
  /**
   * Restart a consumer that is in its group but makes no progress (see stall-watchdog.ts): lag that does not
   * move for `stallAfterMs` (default 30000) with no handler working, an offset commit on its way for
   * `commitStuckAfterMs` (default 10000), `commitFailuresBeforeRestart` (default 3) failed commits in a row, or
   * progress that cannot be read at all (not joined, no broker answers) for `unobservableAfterMs` (default 60000).
   * Checked every `checkEveryMs` (default 5000). `false` turns it off.
   */
  stallWatchdog?:
    | false
    | {
        stallAfterMs?: number;
        commitStuckAfterMs?: number;
        checkEveryMs?: number;
        commitFailuresBeforeRestart?: number;
        unobservableAfterMs?: number;
      };
  /** a stall was found and the consumer is being restarted; ready() is false until it re-joined */
  onStall?(info: StallInfo): void;
  /** how often kafkajs refreshes topic metadata (leaders) on its own (default 30000; kafkajs's own is 5 min) */
  metadataMaxAgeMs?: number;
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
  /** joined the group, running, and not found stalled since it last joined */
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
