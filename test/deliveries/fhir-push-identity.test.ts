// A FHIR push of a study received by DICOM in carries the identifiers the hospital knows: the source instance's
// Study/Series/SOP Instance UIDs, its accession and patient id, read from the PACS at send time (never stored), as the
// SR and the ORU^R01 do. Uploads keep the platform's own. A real local HTTP server receives the transaction Bundle.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import type { Delivery, DeliverySource } from "../../lib/db/index.ts";
import type { SourceIdentity } from "../../lib/deliveries/content.ts";
import { createEgressPolicy, parseEgressRules } from "../../lib/deliveries/egress.ts";
import { sendFhir, type SendContext } from "../../lib/deliveries/senders.ts";
import { ORIGINAL } from "./source-fixture.ts";

const at = new Date("2026-12-03T10:00:00Z");
const source = (pacsInstanceId: string | null) =>
  ({
    study: {
      id: "s1",
      tenantId: "t1",
      accession: "PACS-PSEUDO",
      modality: "CR",
      studyDate: null,
      studyInstanceUid: "2.25.99",
      createdAt: at,
    },
    patient: { mrn: "PACS-MRN-PSEUDO", name: null },
    image: { id: "i1", format: "DICOM", seriesInstanceUid: "2.25.98", sopInstanceUid: "2.25.97" },
    pacsInstanceId,
    classification: {
      modelName: "m",
      modelVersion: "1",
      bundleSha256: "ab".repeat(32),
      reliabilityLevel: "OK",
      finishedAt: at,
      updatedAt: at,
    },
    findings: [
      { label: "Pleural Effusion", probability: 0.9, threshold: 0.5, rawProbability: 0.9, validatedOnRealData: true, regions: [] },
    ],
    boxes: [],
    report: null,
    review: null,
  }) as unknown as DeliverySource;

const original = ORIGINAL;

async function fhirServer() {
  const received: any[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      res.writeHead(200, { "content-type": "application/fhir+json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`, received, close: () => server.close() };
}

function context(target: string, src: DeliverySource, lookup: (id: string) => Promise<SourceIdentity | null>): SendContext {
  return {
    delivery: { id: "0f8fad5b-d9cb-469f-a165-70867728950e", target } as Delivery,
    source: src,
    predecessor: null,
    settings: { hl7ReceivingApplication: null, hl7ReceivingFacility: null },
    config: {
      pacs: null,
      hl7: { sendingApplication: "A", sendingFacility: "F" },
      timeoutMs: 5000,
      egress: createEgressPolicy(parseEgressRules(["127.0.0.1"]).rules),
      sourceIdentity: lookup,
    },
    signal: new AbortController().signal,
    now: at,
  };
}

const resource = (bundle: any, type: string) => bundle.entry.find((e: any) => e.resource.resourceType === type).resource;

test("a FHIR push of a DICOM-in study carries the original UIDs, accession and patient id read from the PACS at send time", async (t) => {
  const server = await fhirServer();
  t.after(() => server.close());
  const asked: string[] = [];
  await sendFhir(
    context(server.url, source("0a1b2c3d-00000000-11111111-22222222-33333333"), async (id) => {
      asked.push(id);
      return original;
    }),
  );
  assert.deepEqual(asked, ["0a1b2c3d-00000000-11111111-22222222-33333333"], "read from the PACS by the ingested instance");
  const bundle = server.received[0];
  const study = resource(bundle, "ImagingStudy");
  const ids = study.identifier.map((i: any) => i.value);
  assert.ok(ids.includes("urn:oid:1.2.3.1"), "the original Study Instance UID");
  assert.ok(ids.includes("A-77"), "the original accession");
  assert.equal(study.series[0].uid, "1.2.3.2");
  assert.equal(study.series[0].instance[0].uid, "1.2.3.3");
  const report = resource(bundle, "DiagnosticReport");
  assert.deepEqual(
    report.identifier.map((i: any) => i.value),
    ["A-77"],
  );
  assert.equal(report.subject.identifier.value, "HOSP-42");
  const text = JSON.stringify(bundle);
  for (const pseudonym of ["PACS-PSEUDO", "PACS-MRN-PSEUDO", "2.25.99", "2.25.98", "2.25.97"])
    assert.ok(!text.includes(pseudonym), pseudonym);
  assert.ok(!text.includes("Doe^Jane"), "no name leaves");
});

test("a FHIR push of an upload keeps the platform's identifiers; a DICOM-in source gone from the PACS fails the push for good", async (t) => {
  const server = await fhirServer();
  t.after(() => server.close());
  await sendFhir(context(server.url, source(null), async () => assert.fail("an upload has no PACS source")));
  const study = resource(server.received[0], "ImagingStudy");
  assert.ok(study.identifier.some((i: any) => i.value === "PACS-PSEUDO"));
  assert.equal(study.series[0].uid, "2.25.98");
  await assert.rejects(
    sendFhir(context(server.url, source("0a1b2c3d-00000000-11111111-22222222-33333333"), async () => null)),
    (e: any) => e.code === "SOURCE_INSTANCE_GONE" && e.retriable === false,
  );
  assert.equal(server.received.length, 1, "nothing sent for the gone instance");
});
