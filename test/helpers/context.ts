// Per-test context: a fresh database copied from the migrated template (CREATE DATABASE ... TEMPLATE: ~100 ms
// instead of running migrations per test), a unique Kafka topic prefix with the three topics created, and
// clean-up after the test (clients closed, database dropped, topics deleted).
import { randomBytes } from "node:crypto";
import type { TestContext } from "node:test";
import pg from "pg";
import { createDb, createRepositories, type Db, type Repositories, type SqlClient } from "../../lib/db/index.ts";
import { createKafka, type ConsumerOptions, type KafkaClient, type KafkaConsumer, type KafkaProducer } from "../../lib/kafka/index.ts";
import { topicNames, type TopicNames } from "../../lib/events/index.ts";
import { getTestStack, type TestStack } from "./test-stack.ts";

export interface TestCtx {
  stack: TestStack;
  databaseName: string;
  databaseUrl: string;
  db: Db;
  repos: Repositories;
  brokers: string[];
  topicPrefix: string;
  topics: TopicNames;
  kafka: KafkaClient;
  /** a producer disconnected after the test */
  producer(): Promise<KafkaProducer>;
  /** a started consumer (joined its group), stopped after the test */
  consumer(options: ConsumerOptions): Promise<KafkaConsumer>;
  /** register clean-up to run after the test (before the database is dropped), last registered first */
  defer(fn: () => Promise<unknown> | unknown): void;
}

let counter = 0;

export function uniqueName(prefix: string): string {
  return `${prefix}${process.pid}_${++counter}_${randomBytes(3).toString("hex")}`;
}

async function withAdmin<T>(stack: TestStack, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: stack.serverUrl("postgres") });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Create an empty migrated database for a test (no repositories attached); drop it with dropTestDatabase. */
export async function createTestDatabase(stack?: TestStack): Promise<{ name: string; url: string }> {
  const s = stack ?? (await getTestStack());
  const name = uniqueName("t_");
  await withAdmin(s, async (client) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)} TEMPLATE ${client.escapeIdentifier(s.templateDb)}`);
        return;
      } catch (error) {
        // "source database is being accessed by other users": another process is copying it right now
        if (attempt < 20 && String((error as Error).message).includes("being accessed")) {
          await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
          continue;
        }
        throw error;
      }
    }
  });
  return { name, url: s.serverUrl(name) };
}

export async function dropTestDatabase(name: string, stack?: TestStack): Promise<void> {
  const s = stack ?? (await getTestStack());
  await withAdmin(s, (client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`));
}

export async function createTestContext(t: TestContext, options: { partitions?: number } = {}): Promise<TestCtx> {
  const stack = await getTestStack();
  const { name, url } = await createTestDatabase(stack);
  const topicPrefix = `${uniqueName("t")}.`;
  const topics = topicNames(topicPrefix);
  const kafka = createKafka({ brokers: stack.brokers, clientId: `test-${process.pid}`, logLevel: "nothing" });
  const admin = await kafka.admin();
  await admin.ensureTopics([topics.requested, topics.completed, topics.deadLetter], { numPartitions: options.partitions ?? 3 });
  const db = createDb(url, { poolMax: 5 });
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const defer = (fn: () => Promise<unknown> | unknown) => {
    cleanups.push(fn);
  };

  t.after(async () => {
    for (const fn of cleanups.reverse())
      await Promise.resolve()
        .then(fn)
        .catch((error) => console.error("test clean-up failed:", error));
    await db.close();
    await dropTestDatabase(name, stack).catch((error) => console.error(`could not drop ${name}:`, error));
    await admin.deleteTopics([topics.requested, topics.completed, topics.deadLetter]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  });

  return {
    stack,
    databaseName: name,
    databaseUrl: url,
    db,
    repos: createRepositories(db.prisma, { topics, sql: db.sql }),
    brokers: stack.brokers,
    topicPrefix,
    topics,
    kafka,
    async producer() {
      const producer = await kafka.producer();
      defer(() => producer.disconnect());
      return producer;
    },
    async consumer(consumerOptions) {
      const consumer = kafka.consumer(consumerOptions);
      defer(() => consumer.stop());
      await consumer.start();
      return consumer;
    },
    defer,
  };
}

/**
 * Repositories whose direct SQL channel records each statement's name before running it on the context's pool:
 * for tests that a path runs named statements (not ORM queries).
 */
export function reposWithSqlSpy(ctx: TestCtx): { repos: Repositories; names: string[] } {
  const names: string[] = [];
  const sql: SqlClient = {
    rows: (name, text, values) => {
      names.push(name);
      return ctx.db.sql.rows(name, text, values);
    },
  };
  return { repos: createRepositories(ctx.db.prisma, { topics: ctx.topics, sql }), names };
}
