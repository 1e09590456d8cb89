// The gateway's delivery configuration: the PACS comes from ORTHANC_URL or PACS_DICOMWEB_URL (http or https only),
// credentials only as a pair, and the dispatcher's lease never shorter than two send timeouts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../../lib/errors/index.ts";
import { loadGatewayConfig } from "../../services/gateway/src/config.ts";

const BASE = { DATABASE_URL: "postgresql://u@127.0.0.1/db", KAFKA_BROKERS: "127.0.0.1:9092", AUTH_TOKEN_SECRET: "x".repeat(32) };

test("a PACS URL that is not http(s) is refused at start, naming the variable", () => {
  for (const [key, value] of [
    ["ORTHANC_URL", "file:///etc/passwd"],
    ["PACS_DICOMWEB_URL", "ftp://pacs.example/dicom-web"],
    ["ORTHANC_URL", "not a url"],
  ] as const) {
    assert.throws(
      () => loadGatewayConfig({ ...BASE, [key]: value }),
      (error: unknown) => error instanceof ConfigError && error.issues.some((issue) => issue.startsWith(key)),
      `${key}=${value}`,
    );
  }
});

test("ORTHANC_URL gives the DICOMweb base at /dicom-web with its credentials; PACS_DICOMWEB_URL wins; none means no PACS", () => {
  const orthanc = loadGatewayConfig({ ...BASE, ORTHANC_URL: "http://127.0.0.1:8042/", ORTHANC_USERNAME: "u", ORTHANC_PASSWORD: "p" });
  assert.deepEqual(orthanc.deliveries.pacs, {
    dicomWebUrl: "http://127.0.0.1:8042/dicom-web",
    credentials: { username: "u", password: "p" },
  });
  const other = loadGatewayConfig({ ...BASE, ORTHANC_URL: "http://127.0.0.1:8042", PACS_DICOMWEB_URL: "https://pacs.example/wado/" });
  assert.deepEqual(other.deliveries.pacs, { dicomWebUrl: "https://pacs.example/wado", credentials: null });
  const none = loadGatewayConfig(BASE);
  assert.equal(none.deliveries.pacs, null);
  assert.equal(none.deliveries.dispatcher, true);
  const short = loadGatewayConfig({ ...BASE, DELIVERY_LEASE_MS: "1000", DELIVERY_TIMEOUT_MS: "20000" });
  assert.equal(short.deliveries.options.leaseMs, 40_000, "a lease outlives two send timeouts");
});
