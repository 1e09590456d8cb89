// The worker's configuration and retry policy: bad configuration fails at start listing every problem; the
// backoff grows exponentially within its cap; errors are sorted into retriable and not.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, NotFoundError, UnavailableError } from "../../lib/errors/index.ts";
import { loadWorkerConfig } from "../../workers/analysis/src/config.ts";
import { classifyError } from "../../workers/analysis/src/errors.ts";
import { BundleError, InferenceError } from "../../workers/analysis/src/bundle/errors.ts";
import { backoffDelay } from "../../workers/analysis/src/loop/backoff.ts";
import { resolveBundleDir } from "./harness.ts";

test("a bad worker configuration fails listing every problem at once", () => {
  let error: unknown;
  try {
    loadWorkerConfig({
      DATABASE_URL: "mysql://nope",
      WORKER_MAX_ATTEMPTS: "0",
      EXECUTION_PROVIDER: "tpu",
      MODEL_BUNDLE_DIR: "/nonexistent/bundle",
    });
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof ConfigError);
  const keys = error.issues.map((issue) => issue.split(":")[0]);
  assert.deepEqual(
    new Set(keys),
    new Set(["DATABASE_URL", "KAFKA_BROKERS", "WORKER_MAX_ATTEMPTS", "EXECUTION_PROVIDER", "MODEL_BUNDLE_DIR"]),
  );
});

test("a minimal worker configuration gets documented defaults", () => {
  const bundleDir = resolveBundleDir();
  const config = loadWorkerConfig({
    DATABASE_URL: "postgresql://u:p@localhost:5432/db",
    KAFKA_BROKERS: "a:9092, b:9092",
    MODEL_BUNDLE_DIR: bundleDir,
    WORKER_ID: "w1",
  });
  assert.deepEqual(config.kafka.brokers, ["a:9092", "b:9092"]);
  assert.equal(config.kafka.groupId, "analysis-workers");
  assert.deepEqual(config.topics, { requested: "analysis.requested", completed: "analysis.completed", deadLetter: "analysis.dead-letter" });
  assert.deepEqual(config.retry, { maxAttempts: 3, backoffMs: 500, backoffMaxMs: 8000 });
  assert.equal(config.workerId, "w1");
  assert.equal(config.inference.executionProvider, "cpu");
});

test("retry backoff doubles per try, stays within ±25 % jitter and never exceeds its cap", () => {
  const policy = { backoffMs: 100, backoffMaxMs: 1000 };
  assert.equal(
    backoffDelay(policy, 2, () => 0.5),
    100,
  );
  assert.equal(
    backoffDelay(policy, 3, () => 0.5),
    200,
  );
  assert.equal(
    backoffDelay(policy, 4, () => 0.5),
    400,
  );
  assert.equal(
    backoffDelay(policy, 9, () => 0.5),
    1000,
  );
  assert.equal(
    backoffDelay(policy, 3, () => 0),
    150,
  );
  assert.equal(
    backoffDelay(policy, 3, () => 1),
    250,
  );
});

test("errors are classified: bad input and bad bundles are final, unavailable dependencies are retried", () => {
  assert.equal(classifyError(new InferenceError("IMAGE_INVALID", "bad png")).retriable, false);
  assert.equal(classifyError(new InferenceError("IMAGE_INVALID", "bad png")).code, "VALIDATION");
  assert.equal(classifyError(new InferenceError("INFERENCE_FAILED", "oom", { retriable: true })).retriable, true);
  assert.equal(classifyError(new BundleError("BUNDLE_HASH_MISMATCH", "tampered")).retriable, false);
  assert.equal(classifyError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })).retriable, true);
  assert.equal(classifyError(Object.assign(new Error("pool timeout"), { code: "P2024" })).code, "UNAVAILABLE");
  assert.equal(classifyError(new UnavailableError("store")).retriable, true);
  assert.equal(classifyError(new NotFoundError("Image", "x")).retriable, false);
  assert.equal(classifyError(new TypeError("undefined is not a function")).code, "INTERNAL");
});

/** What @prisma/adapter-pg throws: the SQLSTATE only on `cause` (seen in npm run test:faults during a restart). */
function driverAdapterError(message: string, cause: Record<string, unknown>): Error {
  return Object.assign(new Error(message), { name: "DriverAdapterError", cause });
}

test("a PostgreSQL that is restarting is retried, also when the driver adapter wraps its error", () => {
  const startingUp = driverAdapterError("the database system is starting up", {
    kind: "postgres",
    code: "57P03",
    originalCode: "57P03",
    message: "the database system is starting up",
  });
  assert.equal(classifyError(startingUp).code, "UNAVAILABLE");
  assert.equal(classifyError(startingUp).retriable, true);
  assert.equal(
    classifyError(driverAdapterError("terminating connection due to administrator command", { kind: "postgres", originalCode: "57P01" }))
      .retriable,
    true,
  );
  assert.equal(classifyError(driverAdapterError("DatabaseNotReachable", { kind: "DatabaseNotReachable" })).retriable, true);
  // node-postgres's own error for a pooled connection that died (the adapter passes it on as it is)
  assert.equal(classifyError(new Error("Client has encountered a connection error and is not queryable")).retriable, true);
  // a real SQL error stays final
  assert.equal(classifyError(driverAdapterError("syntax error", { kind: "postgres", originalCode: "42601" })).retriable, false);
});
