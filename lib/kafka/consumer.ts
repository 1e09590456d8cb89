// The consumer: offsets are committed only after `handle` resolves for a message (autoCommit off), so a handler
// that throws, or a process that dies, gets the message again. It is started again after a crash kafkajs does not
// restart from, and after a stall kafkajs does not notice (stall-watchdog.ts).
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import { UnavailableError } from "../errors/index.ts";
import { handleBatchConcurrently } from "./batch.ts";
import { createPipeline, type Pipeline } from "./pipeline.ts";
import { createStallWatchdog, type PartitionProgress, type StallWatchdog } from "./stall-watchdog.ts";
import type { ConsumerOptions, HandlerContext, IncomingMessage, KafkaConsumer } from "./types.ts";

function headersToStrings(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (value === undefined || value === null) continue;
    out[key] = Array.isArray(value) ? value.map(String).join(",") : Buffer.isBuffer(value) ? value.toString("utf8") : String(value);
  }
  return out;
}

const toIncoming = (topic: string, partition: number, message: KafkaMessage): IncomingMessage => ({
  topic,
  partition,
  offset: message.offset,
  key: message.key ? message.key.toString("utf8") : null,
  value: message.value,
  headers: headersToStrings(message.headers as Record<string, unknown> | undefined),
  timestamp: message.timestamp,
});

/**
 * Committed offsets and high-water marks of the partitions assigned to this member, read with an admin client.
 * `assigned` is undefined while the member is not in its group (nothing can be sampled then).
 */
function createProgressSampler(kafka: Kafka, groupId: string, assigned: () => Map<string, number[]> | undefined) {
  let admin: Admin | undefined;
  let connecting: Promise<Admin> | undefined;
  // once the consumer stops, a sample still on its way must not leave a connected admin client behind (it would
  // keep the process alive)
  let closed = false;
  const connect = async (): Promise<Admin | undefined> => {
    if (admin) return admin;
    connecting ??= (async () => {
      const client = kafka.admin({ retry: { retries: 0 } });
      await client.connect();
      return client;
    })();
    try {
      const client = await connecting;
      if (closed) {
        await client.disconnect().catch(() => undefined);
        return undefined;
      }
      admin = client;
      return client;
    } finally {
      connecting = undefined;
    }
  };
  return {
    async sample(): Promise<PartitionProgress[] | undefined> {
      const assignment = assigned();
      if (closed || !assignment) return undefined;
      // in the group with no partitions (more members than partitions): nothing to watch, and nothing wrong
      if (assignment.size === 0) return [];
      const client = await connect();
      if (!client) return undefined;
      const out: PartitionProgress[] = [];
      const topics = [...assignment.keys()];
      // a failed read drops the connection: the admin client's metadata may name a broker that is gone for good
      const read = <T>(work: Promise<T>) =>
        work.catch(async (error: unknown) => {
          await this.reset();
          throw error;
        });
      const committed = await read(client.fetchOffsets({ groupId, topics }));
      for (const topic of topics) {
        const mine = new Set(assignment.get(topic));
        const marks = await read(client.fetchTopicOffsets(topic));
        const byPartition = new Map(committed.find((c) => c.topic === topic)?.partitions.map((p) => [p.partition, BigInt(p.offset)]));
        for (const mark of marks) {
          if (!mine.has(mark.partition)) continue;
          const offset = byPartition.get(mark.partition) ?? -1n;
          out.push({ topic, partition: mark.partition, committed: offset < 0n ? BigInt(mark.low) : offset, high: BigInt(mark.high) });
        }
      }
      return out;
    },
    /** drop the connection (it may be the stale part); the next sample connects again */
    async reset() {
      const client = admin;
      admin = undefined;
      await client?.disconnect().catch(() => undefined);
    },
    async close() {
      closed = true;
      await this.reset();
    },
  };
}

export function createConsumer(kafka: Kafka, options: ConsumerOptions): KafkaConsumer {
  let joined = false;
  let running = false;
  let stopping = false;
  let stalled = false;
  let assignment = new Map<string, number[]>();
  let commitFailures = 0;
  // handlers + their commits in progress: drain() waits for them while the consumer still runs
  let active = 0;
  // handlers alone: the stall watchdog leaves a consumer alone while one is at work
  let handling = 0;
  // commit id -> when it was sent, by which member (a replaced member's commits no longer count)
  const pendingCommits = new Map<number, { member: Consumer; at: number }>();
  let commitIds = 0;
  const handle = async (message: IncomingMessage, context: HandlerContext) => {
    handling += 1;
    try {
      await options.handle(message, context);
    } finally {
      handling -= 1;
    }
  };
  const track = async (work: Promise<void>) => {
    active += 1;
    try {
      await work;
    } finally {
      active -= 1;
    }
  };
  const commit = async (member: Consumer, topic: string, partition: number, offset: string) => {
    const id = ++commitIds;
    pendingCommits.set(id, { member, at: Date.now() });
    try {
      await member.commitOffsets([{ topic, partition, offset }]);
      if (member === consumer) commitFailures = 0;
    } catch (error) {
      if (member === consumer) commitFailures += 1;
      throw error;
    } finally {
      pendingCommits.delete(id);
    }
  };
  // pipelined mode: the current member's pipeline (its handlers run on after their batch returned)
  let pipeline: Pipeline | undefined;
  const settled = () => active === 0 && (pipeline?.idle() ?? true);
  const drain = async (timeoutMs: number) => {
    stopping = true;
    const deadline = Date.now() + timeoutMs;
    while (!settled() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    return settled();
  };

  let restartTimer: NodeJS.Timeout | undefined;
  let restartAttempt = 0;
  const baseBackoff = options.restartBackoffMs ?? 1000;
  const maxBackoff = options.restartMaxBackoffMs ?? 30_000;

  // One kafkajs consumer is one group member. A stalled member is replaced by a new one rather than restarted:
  // stopping a member whose coordinator no longer answers may itself hang or fail half-way.
  const newMember = (): Consumer => {
    const member = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: options.heartbeatIntervalMs ?? 3000,
      ...(options.fetch?.minBytes === undefined ? {} : { minBytes: options.fetch.minBytes }),
      ...(options.fetch?.maxWaitTimeInMs === undefined ? {} : { maxWaitTimeInMs: options.fetch.maxWaitTimeInMs }),
      // leaders that moved (a broker lost for good) are learnt within this, not kafkajs's 5 minutes
      metadataMaxAge: options.metadataMaxAgeMs ?? 30_000,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 300, retries: 10 },
    });
    member.on(member.events.GROUP_JOIN, (event) => {
      if (member !== consumer) return;
      joined = true;
      stalled = false;
      restartAttempt = 0;
      assignment = new Map(Object.entries(event.payload.memberAssignment as Record<string, number[]>));
      watchdog?.reset();
    });
    member.on(member.events.CRASH, (event) => {
      if (member !== consumer) return;
      joined = false;
      if (!event.payload.restart) {
        options.onCrash?.(event.payload.error);
        if (options.restartOnCrash ?? true) scheduleRestart(event.payload.error);
        else running = false;
      }
    });
    return member;
  };
  let consumer = newMember();

  /** both batch modes: offsets resolved and committed by us; what they need of kafkajs' eachBatch payload */
  const batchRun = (eachBatch: (payload: EachBatchPayload, controls: ReturnType<typeof controlsOf>) => Promise<void>) => ({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
    eachBatch: (payload: EachBatchPayload) => eachBatch(payload, controlsOf(payload)),
  });
  const controlsOf = ({ resolveOffset, heartbeat, isRunning, isStale, pause }: EachBatchPayload) => ({
    resolveOffset,
    heartbeat,
    canContinue: () => isRunning() && !isStale(),
    stopping: () => stopping,
    pause: () => void pause(),
  });

  const runConfigFor = (member: Consumer): Parameters<Consumer["run"]>[0] => {
    if (options.pipeline) {
      const own = createPipeline({
        maxInFlight: options.pipeline.maxInFlight,
        // a handler that outlived its member's ownership (replaced member, partition moved by a rebalance) commits
        // nothing: the new owner starts from the committed prefix and handles the rest again
        commit: (topic, partition, offset) =>
          member === consumer && assignment.get(topic)?.includes(partition) ? commit(member, topic, partition, offset) : Promise.resolve(),
        // a failed handler: the member is replaced and starts again from the committed prefix
        onFailure: (error) => {
          if (member === consumer) scheduleRestart(error instanceof Error ? error : new Error(String(error)));
        },
      });
      pipeline = own;
      return batchRun(async ({ batch, heartbeat }, controls) => {
        const { topic, partition } = batch;
        await own.push(
          {
            ...controls,
            topic,
            partition,
            messages: batch.messages,
            // a replaced member's batch waiting for a slot launches nothing more
            canContinue: () => controls.canContinue() && member === consumer,
          },
          (message) => track(handle(toIncoming(topic, partition, message), { heartbeat })),
        );
      });
    }
    const concurrency = options.messageConcurrency ?? 1;
    if (concurrency > 1)
      return batchRun(async ({ batch, heartbeat }, controls) => {
        const { topic, partition } = batch;
        await track(
          handleBatchConcurrently(
            {
              ...controls,
              messages: batch.messages,
              // committed only after the handlers of this offset and every earlier one finished
              commit: (offset) => commit(member, topic, partition, offset),
            },
            concurrency,
            (message) => handle(toIncoming(topic, partition, message), { heartbeat }),
          ),
        );
      });
    return {
      autoCommit: false,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
      eachMessage: ({ topic, partition, message, heartbeat }) =>
        track(
          (async () => {
            await handle(toIncoming(topic, partition, message), { heartbeat });
            // committed only after the handler finished (its result is stored): at-least-once delivery
            await commit(member, topic, partition, (BigInt(message.offset) + 1n).toString());
          })(),
        ),
    };
  };

  const join = async (member: Consumer) => {
    await member.connect();
    await member.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning ?? false });
    await member.run(runConfigFor(member));
  };

  // members being replaced: stop() waits (bounded) for their leaving, so none keeps the process alive
  const leaving = new Set<Promise<unknown>>();
  const bounded = (work: Promise<unknown>, ms: number) => Promise.race([work, new Promise((resolve) => setTimeout(resolve, ms).unref?.())]);

  /** the old member leaves (waited for at most 10 s, then left to finish on its own), a new one joins */
  const replaceMember = async () => {
    const old = consumer;
    consumer = newMember();
    joined = false;
    const leave: Promise<unknown> = old.disconnect().catch(() => undefined);
    leaving.add(leave);
    void leave.finally(() => leaving.delete(leave));
    await bounded(leave, 10_000);
    if (stopping || !running) return;
    await join(consumer);
  };

  function scheduleRestart(error?: Error): void {
    if (stopping || !running || restartTimer) return;
    restartAttempt += 1;
    const delayMs = Math.min(maxBackoff, baseBackoff * 2 ** (restartAttempt - 1));
    options.onRestart?.({ attempt: restartAttempt, delayMs, error });
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopping || !running) return;
      replaceMember().catch((e: Error) => scheduleRestart(e));
    }, delayMs);
    restartTimer.unref?.();
  }

  const watchdogOptions = options.stallWatchdog === false ? undefined : (options.stallWatchdog ?? {});
  const sampler = createProgressSampler(kafka, options.groupId, () => (joined && !stopping ? assignment : undefined));
  const watchdog: StallWatchdog | undefined = watchdogOptions
    ? createStallWatchdog({
        stallAfterMs: watchdogOptions.stallAfterMs ?? 30_000,
        commitStuckAfterMs: watchdogOptions.commitStuckAfterMs ?? 10_000,
        checkEveryMs: watchdogOptions.checkEveryMs ?? 5000,
        commitFailuresBeforeRestart: watchdogOptions.commitFailuresBeforeRestart ?? 3,
        unobservableAfterMs: watchdogOptions.unobservableAfterMs ?? 60_000,
        sample: () => sampler.sample(),
        busy: () => handling > 0,
        commitFailures: () => commitFailures,
        commitPendingMs: () => {
          let oldest = Number.POSITIVE_INFINITY;
          for (const { member, at } of pendingCommits.values()) if (member === consumer) oldest = Math.min(oldest, at);
          return Number.isFinite(oldest) ? Date.now() - oldest : 0;
        },
        async onStall(info) {
          if (stopping || !running || restartTimer) return;
          stalled = true;
          commitFailures = 0;
          options.onStall?.(info);
          // its connections may be the stale part too
          await sampler.reset();
          await replaceMember().catch((e: Error) => scheduleRestart(e));
        },
      })
    : undefined;

  return {
    async start({ joinTimeoutMs = 60_000 } = {}) {
      const member = consumer;
      const joinedPromise = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new UnavailableError(`consumer ${options.groupId} did not join its group within ${joinTimeoutMs} ms`)),
          joinTimeoutMs,
        );
        const remove = member.on(member.events.GROUP_JOIN, () => {
          clearTimeout(timer);
          remove();
          resolve();
        });
      });
      running = true;
      await join(member);
      await joinedPromise;
      watchdog?.start();
    },
    drain,
    async stop() {
      await watchdog?.stop();
      if (running && (options.pipeline || (options.messageConcurrency ?? 1) > 1)) await drain(30_000);
      running = false;
      joined = false;
      if (restartTimer) clearTimeout(restartTimer);
      restartTimer = undefined;
      await sampler.close();
      await consumer.disconnect();
      await bounded(Promise.allSettled([...leaving]), 30_000);
    },
    ready: () => running && joined && !stalled,
  };
}
