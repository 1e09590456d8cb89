import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { loadConfig, env } from "../../lib/config/index.ts";
import { ConfigError, NotFoundError, UnavailableError, ValidationError, isRetriable, toAppError } from "../../lib/errors/index.ts";
import { loadStackConfig } from "../../lib/stack/config.ts";

const schema = z.object({
  PORT: env.port(4000),
  DATABASE_URL: env.postgresUrl(),
  KAFKA_BROKERS: env.list(),
  WORKERS: env.int(2, 1),
  DEBUG: env.bool(false),
});

test("config reports every problem at once, naming each variable", () => {
  const error = (() => {
    try {
      loadConfig("worker", schema, { PORT: "eighty", DATABASE_URL: "mysql://x", WORKERS: "0", DEBUG: "maybe" });
    } catch (e) {
      return e;
    }
    assert.fail("loadConfig accepted a bad config");
  })();
  assert.ok(error instanceof ConfigError);
  const keys = error.issues.map((issue) => issue.split(":")[0]!);
  assert.deepEqual(keys.sort(), ["DATABASE_URL", "DEBUG", "KAFKA_BROKERS", "PORT", "WORKERS"]);
  assert.match(error.message, /invalid worker configuration/);
  for (const key of keys) assert.match(error.message, new RegExp(key));
});

test("config applies defaults, coerces types and treats empty strings as unset", () => {
  const config = loadConfig("gateway", schema, {
    DATABASE_URL: "postgresql://u:p@h:5432/db",
    KAFKA_BROKERS: "a:1, b:2",
    PORT: "",
    DEBUG: "true",
  });
  assert.deepEqual(config, {
    PORT: 4000,
    DATABASE_URL: "postgresql://u:p@h:5432/db",
    KAFKA_BROKERS: ["a:1", "b:2"],
    WORKERS: 2,
    DEBUG: true,
  });
});

test("stack config lists every bad setting and resolves paths from the repository root", () => {
  assert.throws(
    () => loadStackConfig({ PG_PORT: "99999", KAFKA_HEAP_MB: "12", KAFKA_TOPIC_PREFIX: "bad prefix!" }),
    (error: unknown) => error instanceof ConfigError && error.issues.length === 3,
  );
  const config = loadStackConfig({ KAFKA_BROKERS: "127.0.0.1:9092" });
  assert.deepEqual(config.externalBrokers, ["127.0.0.1:9092"]);
  assert.equal(config.externalDatabaseUrl, undefined);
  assert.equal(config.pgPort, 54329);
  assert.ok(config.dir.endsWith("/.local/stack"));
});

test("stack config: one broker by default, three KRaft nodes with small heaps on request, nothing in between", () => {
  const single = loadStackConfig({});
  assert.equal(single.kafkaClusterSize, 1);
  assert.equal(single.kafkaHeapMb, 512);
  const cluster = loadStackConfig({ KAFKA_CLUSTER_SIZE: "3" });
  assert.equal(cluster.kafkaClusterSize, 3);
  assert.equal(cluster.kafkaHeapMb, 256);
  assert.equal(loadStackConfig({ KAFKA_CLUSTER_SIZE: "3", KAFKA_HEAP_MB: "384" }).kafkaHeapMb, 384);
  assert.throws(
    () => loadStackConfig({ KAFKA_CLUSTER_SIZE: "2" }),
    (error: unknown) => error instanceof ConfigError && /KAFKA_CLUSTER_SIZE/.test(error.message),
  );
});

test("errors carry codes, HTTP statuses and the retriable flag", () => {
  const notFound = new NotFoundError("Study", "s1");
  assert.equal(notFound.code, "NOT_FOUND");
  assert.equal(notFound.httpStatus, 404);
  assert.equal(notFound.message, "Study s1 not found");
  assert.equal(isRetriable(notFound), false);
  assert.equal(isRetriable(new UnavailableError("kafka down")), true);
  assert.deepEqual(new ValidationError("bad", { field: "question" }).toJSON(), {
    code: "VALIDATION",
    message: "bad",
    retriable: false,
    field: "question",
    details: {},
  });
  const wrapped = toAppError(new TypeError("boom"));
  assert.equal(wrapped.code, "INTERNAL");
  assert.equal(wrapped.httpStatus, 500);
});
