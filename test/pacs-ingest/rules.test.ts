// DICOM in without peers: which instances are analysed (from Orthanc's simplified tags) and the watcher's config.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../../lib/errors/index.ts";
import { classifyInstance } from "../../lib/pacs-ingest/classify.ts";
import { loadGatewayConfig } from "../../services/gateway/src/config.ts";

const BASE = { DATABASE_URL: "postgresql://u@127.0.0.1/db", KAFKA_BROKERS: "127.0.0.1:9092", AUTH_TOKEN_SECRET: "x".repeat(32) };
const CHEST = { Modality: "DX", Rows: "2048", BodyPartExamined: "CHEST", ViewPosition: "PA" };

test("frontal CR/DX chest radiographs are analysed; a missing body part or view does not refuse them", () => {
  assert.equal(classifyInstance(CHEST), null);
  assert.equal(classifyInstance({ ...CHEST, Modality: "CR", ViewPosition: "AP" }), null);
  assert.equal(classifyInstance({ Modality: "CR", Rows: "512" }), null);
});

test("laterals, other body parts, other modalities and non-image objects are skipped with their reason", () => {
  for (const view of ["LL", "RL", "LATERAL", "lateral"]) assert.equal(classifyInstance({ ...CHEST, ViewPosition: view }), "LATERAL");
  assert.equal(classifyInstance({ ...CHEST, BodyPartExamined: "HAND" }), "NOT_CHEST");
  assert.equal(classifyInstance({ ...CHEST, Modality: "CT" }), "MODALITY_NOT_SUPPORTED");
  assert.equal(classifyInstance({ Modality: "SR" }), "NOT_IMAGE");
  assert.equal(classifyInstance({ ...CHEST, Modality: "PR" }), "NOT_IMAGE");
  assert.equal(classifyInstance({ Modality: "DX" }), "NOT_IMAGE", "no Rows: no pixel data");
});

test("PACS_INGEST is off by default, needs ORTHANC_URL when on, and takes its poll interval, batch size and size cap", () => {
  assert.equal(loadGatewayConfig(BASE).pacsIngest, null);
  assert.throws(
    () => loadGatewayConfig({ ...BASE, PACS_INGEST: "true" }),
    (error: unknown) => error instanceof ConfigError && error.issues.some((i) => i.startsWith("PACS_INGEST")),
  );
  const c = loadGatewayConfig({
    ...BASE,
    PACS_INGEST: "true",
    ORTHANC_URL: "http://127.0.0.1:8042",
    PACS_INGEST_POLL_MS: "500",
    PACS_INGEST_BATCH_SIZE: "7",
    PACS_INGEST_MAX_INSTANCE_BYTES: "1048576",
  });
  assert.equal(c.pacsIngest?.orthanc.url, "http://127.0.0.1:8042");
  assert.equal(c.pacsIngest?.options.pollMs, 500);
  assert.equal(c.pacsIngest?.options.batchSize, 7);
  assert.equal(c.pacsIngest?.options.maxInstanceBytes, 1048576);
});
