// Reading a DICOM-in study's original identity back from the source PACS for its SR: what is taken from the
// instance's tags, and what a send does when the instance is gone or the PACS is down (nothing is stored).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Delivery, DeliverySource } from "../../lib/db/index.ts";
import { DeliveryError, sendSr, type SendContext } from "../../lib/deliveries/senders.ts";
import { createSourceIdentityLookup } from "../../lib/pacs-ingest/source-identity.ts";
import { OrthancUnavailable } from "../../lib/pacs-ingest/orthanc-rest.ts";
import { ORIGINAL } from "./source-fixture.ts";

const tags = {
  StudyInstanceUID: "1.2.3.1",
  SeriesInstanceUID: "1.2.3.2",
  SOPInstanceUID: "1.2.3.3",
  SOPClassUID: "1.2.840.10008.5.1.4.1.1.1",
  PatientID: "HOSP-42",
  PatientName: "Doe^Jane",
  AccessionNumber: "A-77",
  StudyDate: "20261130",
};

test("the original UIDs, patient and accession come from the instance's tags; a gone instance or missing UID gives null", async () => {
  const lookup = (t: Record<string, unknown> | null) => createSourceIdentityLookup({ tags: async () => t })("abc");
  assert.deepEqual(await lookup(tags), ORIGINAL);
  assert.equal(await lookup(null), null);
  assert.equal(await lookup({ ...tags, SeriesInstanceUID: "" }), null);
  assert.equal(await lookup({ ...tags, StudyInstanceUID: "1.2.x" }), null, "a malformed UID is not used");
  assert.equal((await lookup({ ...tags, StudyDate: "2026-11-30" }))?.studyDate, null);
});

function context(sourceIdentity: SendContext["config"]["sourceIdentity"]): SendContext {
  return {
    delivery: { id: "0f8fad5b-d9cb-469f-a165-70867728950e" } as Delivery,
    source: { pacsInstanceId: "abc" } as unknown as DeliverySource,
    predecessor: null,
    settings: { hl7ReceivingApplication: null, hl7ReceivingFacility: null },
    // never contacted: the identity is read first
    config: {
      pacs: { dicomWebUrl: "http://127.0.0.1:9/dicom-web", credentials: null },
      hl7: { sendingApplication: "A", sendingFacility: "F" },
      timeoutMs: 1000,
      egress: { check: async () => ({ allowed: false, reason: "test" }) } as never,
      sourceIdentity,
    },
    signal: new AbortController().signal,
    now: new Date(),
  };
}

test("an SR whose source instance is gone from the PACS fails for good with SOURCE_INSTANCE_GONE; a PACS that is down is retried", async () => {
  await assert.rejects(sendSr(context(async () => null)), (e: unknown) => {
    assert.ok(e instanceof DeliveryError);
    assert.equal(e.code, "SOURCE_INSTANCE_GONE");
    assert.equal(e.retriable, false);
    return true;
  });
  await assert.rejects(
    sendSr(
      context(async () => {
        throw new OrthancUnavailable("Orthanc unreachable: connect ECONNREFUSED");
      }),
    ),
    (e: unknown) => e instanceof DeliveryError && e.code === "UNAVAILABLE" && e.retriable === true,
  );
});
