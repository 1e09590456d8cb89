// Outbox relay: publishes unsent outbox rows to Kafka (keyed as written: by study id) and marks them sent.
// Woken by LISTEN/NOTIFY on every committed outbox insert, with polling as a fallback, so a request reaches
// Kafka within milliseconds. An advisory lock (lib/db) lets any number of relays run while exactly one
// publishes at a time, in insertion order. A relay with a LISTEN connection holds that lock on it as a session
// lock (the leader: one statement per pass, which marks the previous batch sent and reads the next; no transaction);
// the others ignore notifications and try to take over at each poll (at most once a second), so a dead leader is
// replaced within about a second. A notification waits gatherMs so a burst of commits shares one pass. Delivery is
// at least once: a crash between the Kafka ack and the mark (at most markDelayMs later) republishes a row;
// consumers dedupe by eventId / analysis state.
import pg from "pg";
import type { KafkaProducer } from "../kafka/index.ts";
import { createRelaySession, OUTBOX_CHANNEL, type OutboxRow, type RelaySession } from "../db/repositories/outbox.ts";

export interface OutboxStore {
  publishBatch(limit: number, publish: (rows: OutboxRow[]) => Promise<void>): Promise<number>;
}

export interface OutboxRelayOptions {
  /** repositories.outbox from lib/db */
  outbox: OutboxStore;
  producer: KafkaProducer;
  /** for LISTEN (a dedicated connection); omit to rely on polling only */
  databaseUrl?: string;
  batchSize?: number;
  /** fallback poll interval (default 1000 ms) */
  pollIntervalMs?: number;
  /**
   * A notification waits this long before the pass it wakes (default 10 ms), so that the commits of a burst share
   * one pass (one statement) instead of one pass each.
   */
  gatherMs?: number;
  /**
   * The leader marks a published batch sent with its next pass; when none comes within this time (default 250 ms)
   * it marks it with a statement of its own. This is also the longest a crash can leave a sent row to be sent again.
   */
  markDelayMs?: number;
  log?: (level: "info" | "warn" | "error", message: string, extra?: Record<string, unknown>) => void;
  /**
   * Called on every notification of the LISTEN connection, leading or not: outbox rows were committed (a request,
   * a job's results). The gateway wakes its transition tailer with it: the transitions committed with those rows
   * reach subscribers without waiting for the events' trip through this relay, Kafka and the completion consumer.
   */
  onNotify?: () => void;
}

export interface OutboxRelay {
  start(): Promise<void>;
  stop(): Promise<void>;
  ready(): boolean;
  /** publish everything unsent now (tests, shutdown); returns the number of rows published */
  flush(): Promise<number>;
  /** rows published since start */
  published(): number;
  /** the last publish error while the relay keeps failing (null once a publish succeeds) */
  lastError(): string | null;
}

/** A follower tries to take the lead at most this often: each try is a statement, and takeover is rare. */
const FOLLOWER_RETRY_MS = 1000;

/** After this many publish failures in a row the relay reports itself not ready, so /readyz shows a stall. */
const FAILURES_BEFORE_UNREADY = 3;

export function toKafkaMessage(row: OutboxRow) {
  const payload = row.payload as { type?: string } | null;
  return {
    topic: row.topic,
    key: row.key,
    value: JSON.stringify(row.payload),
    headers: {
      ...(row.headers ?? {}),
      "event-id": row.eventId,
      ...(payload?.type ? { "event-type": payload.type } : {}),
    },
  };
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const batchSize = options.batchSize ?? 100;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const gatherMs = options.gatherMs ?? 10;
  const markDelayMs = options.markDelayMs ?? 250;
  const log = options.log ?? ((level, message, extra) => console.error(`[outbox ${level}] ${message}`, extra ?? ""));
  let running = false;
  let listening = false;
  let total = 0;
  let loop: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;
  let pending = false;
  let listener: pg.Client | undefined;
  /** the LISTEN connection's statements, and whether it holds the relay lock */
  let session: RelaySession | undefined;
  let leading = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let consecutiveFailures = 0;
  let lastError: string | null = null;

  function wake() {
    pending = true;
    wakeUp?.();
  }

  /** Where this relay publishes from now: its session when it leads, nothing while another relay leads. */
  async function publisher(): Promise<OutboxStore | undefined> {
    if (!session) return options.outbox; // no own connection: the per-call transaction lock
    if (!leading) leading = await session.tryLead();
    return leading ? session : undefined;
  }

  async function drain(): Promise<number> {
    const store = await publisher();
    if (!store) return 0;
    let sum = 0;
    for (;;) {
      const count = await store.publishBatch(batchSize, async (rows) => {
        await options.producer.send(rows.map(toKafkaMessage));
      });
      sum += count;
      total += count;
      if (count < batchSize) return sum;
    }
  }

  // Drains in this process never overlap: a flush() that arrived while the loop was publishing would
  // otherwise lose the advisory lock to it, see nothing to publish and return before the rows were sent.
  let lastDrain: Promise<unknown> = Promise.resolve();
  function drainSerially(): Promise<number> {
    const next = lastDrain.catch(() => undefined).then(() => drain());
    lastDrain = next;
    return next;
  }

  /** The leader's pending mark on its own (no pass came to carry it), in turn with the drains. */
  function markSerially(): Promise<void> {
    const next = lastDrain.catch(() => undefined).then(() => (leading ? session?.markSent() : undefined));
    lastDrain = next;
    return next;
  }

  async function connectListener(): Promise<void> {
    if (!options.databaseUrl || !running) return;
    const client = new pg.Client({ connectionString: options.databaseUrl });
    // a follower would only find the lock taken: it waits for its poll instead
    client.on("notification", () => {
      options.onNotify?.();
      if (leading) wake();
    });
    client.on("error", (error) => {
      listening = false;
      if (session && listener === client) {
        session = undefined;
        leading = false;
      }
      log("warn", `outbox LISTEN connection lost, polling until it is back: ${error.message}`);
      void client.end().catch(() => undefined);
      if (running) reconnectTimer = setTimeout(() => void connectListener().catch(() => undefined), 1000);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      const own = createRelaySession(client);
      leading = await own.tryLead();
      session = own;
      listener = client;
      listening = true;
      wake(); // rows committed while we were not listening
    } catch (error) {
      await client.end().catch(() => undefined);
      log("warn", `outbox LISTEN failed, polling only: ${(error as Error).message}`);
      if (running) reconnectTimer = setTimeout(() => void connectListener().catch(() => undefined), 2000);
    }
  }

  async function run(): Promise<void> {
    let backoff = 200;
    let woken = false;
    while (running) {
      if (woken && gatherMs > 0) await new Promise((resolve) => setTimeout(resolve, gatherMs));
      pending = false;
      try {
        await drainSerially();
        backoff = 200;
        consecutiveFailures = 0;
        lastError = null;
      } catch (error) {
        consecutiveFailures += 1;
        lastError = (error as Error).message;
        log("error", `outbox publish failed, retrying in ${backoff} ms: ${(error as Error).message}`);
        await sleepOrWake(backoff);
        backoff = Math.min(backoff * 2, 10_000);
        continue;
      }
      if (!pending && leading && session?.hasUnmarked()) {
        await sleepOrWake(markDelayMs);
        if (!pending && running) await markSerially().catch((error) => log("warn", `outbox mark failed: ${(error as Error).message}`));
      }
      if (!pending) await sleepOrWake(session && !leading ? Math.max(pollIntervalMs, FOLLOWER_RETRY_MS) : pollIntervalMs);
      woken = pending;
    }
  }

  function sleepOrWake(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
      if (pending || !running) done();
    });
  }

  return {
    async start() {
      if (running) return;
      running = true;
      await connectListener();
      loop = run();
    },
    async stop() {
      running = false;
      clearTimeout(reconnectTimer);
      wakeUp?.();
      await loop;
      loop = undefined;
      await markSerially().catch(() => undefined); // a batch sent and not yet marked

      listening = false;
      session = undefined;
      leading = false;
      await listener?.end().catch(() => undefined); // releases the relay lock
      listener = undefined;
    },
    ready: () => running && (listening || !options.databaseUrl) && consecutiveFailures < FAILURES_BEFORE_UNREADY,
    flush: async () => {
      const count = await drainSerially();
      await markSerially();
      return count;
    },
    published: () => total,
    lastError: () => lastError,
  };
}
