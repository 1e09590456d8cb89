// IMAGE_STORE in the gateway's and the worker's config: disk by default, pacs only with a PACS URL (http or https),
// and the worker finds the same DICOMweb base as the gateway from the same variables.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../../lib/errors/index.ts";
import { createConfiguredImageStore } from "../../lib/images/pacs-store.ts";
import { loadGatewayConfig } from "../../services/gateway/src/config.ts";
import { loadWorkerConfig } from "../../workers/analysis/src/config.ts";
import { resolveBundleDir } from "../worker-loop/harness.ts";

const GATEWAY = { DATABASE_URL: "postgresql://u@127.0.0.1/db", KAFKA_BROKERS: "127.0.0.1:9092", AUTH_TOKEN_SECRET: "x".repeat(32) };
const worker = () => ({
  DATABASE_URL: "postgresql://u@127.0.0.1/db",
  KAFKA_BROKERS: "127.0.0.1:9092",
  MODEL_BUNDLE_DIR: resolveBundleDir(),
});
const namesImageStore = (error: unknown) => error instanceof ConfigError && error.issues.some((issue) => issue.startsWith("IMAGE_STORE"));

test("the image store is the local disk unless IMAGE_STORE says pacs, in the gateway and in the worker", () => {
  assert.equal(loadGatewayConfig(GATEWAY).imageStore, "disk");
  assert.equal(loadWorkerConfig(worker()).imageStore, "disk");
  assert.equal(loadWorkerConfig(worker()).pacs, null);
});

test("IMAGE_STORE=pacs without a PACS URL, or an unknown IMAGE_STORE, is refused at start naming IMAGE_STORE", () => {
  assert.throws(() => loadGatewayConfig({ ...GATEWAY, IMAGE_STORE: "pacs" }), namesImageStore);
  assert.throws(() => loadWorkerConfig({ ...worker(), IMAGE_STORE: "pacs" }), namesImageStore);
  assert.throws(() => loadGatewayConfig({ ...GATEWAY, IMAGE_STORE: "s3" }), namesImageStore);
  assert.throws(() => loadWorkerConfig({ ...worker(), IMAGE_STORE: "s3" }), namesImageStore);
  assert.throws(
    () => loadWorkerConfig({ ...worker(), IMAGE_STORE: "pacs", ORTHANC_URL: "file:///etc/passwd" }),
    (error: unknown) => error instanceof ConfigError && error.issues.some((issue) => issue.startsWith("ORTHANC_URL")),
  );
});

test("gateway and worker given the same PACS variables read and write the same DICOMweb base", () => {
  const env = { IMAGE_STORE: "pacs", ORTHANC_URL: "http://127.0.0.1:8042/", ORTHANC_USERNAME: "u", ORTHANC_PASSWORD: "p" };
  const g = loadGatewayConfig({ ...GATEWAY, ...env });
  const w = loadWorkerConfig({ ...worker(), ...env });
  assert.equal(g.imageStore, "pacs");
  assert.equal(w.imageStore, "pacs");
  assert.deepEqual(w.pacs, g.deliveries.pacs);
  assert.deepEqual(w.pacs, { dicomWebUrl: "http://127.0.0.1:8042/dicom-web", credentials: { username: "u", password: "p" } });
  const wins = loadWorkerConfig({ ...worker(), ...env, PACS_DICOMWEB_URL: "https://pacs.example/wado/" });
  assert.equal(wins.pacs?.dicomWebUrl, "https://pacs.example/wado");
  const store = createConfiguredImageStore({ kind: w.imageStore, storageDir: "/nonexistent", pacs: w.pacs });
  assert.equal((store as { kind?: string }).kind, "pacs");
});
