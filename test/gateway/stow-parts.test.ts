// The STOW-RS endpoint's pure pieces: multipart/related splitting with its part limit, the PS3.18 response, and the
// header read that names an instance before it is forwarded (Orthanc id as Orthanc computes it).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { orthancInstanceId, readStowIdentity } from "../../lib/pacs-ingest/stow-identity.ts";
import { MultipartError, parseContentType, splitRelated } from "../../services/gateway/src/http/multipart-related.ts";
import { FAILURE, stowResponse } from "../../services/gateway/src/http/stow.ts";

const FIXTURE = fileURLToPath(new URL("../fixtures/images/siim_cr_chest_pa_mono2.dcm", import.meta.url));
const body = (...parts: string[]) => Buffer.from(`preamble\r\n${parts.map((p) => `--b1\r\n${p}\r\n`).join("")}--b1--\r\n`);

test("a multipart/related body splits into its parts with their headers, preamble and epilogue ignored", () => {
  const parts = splitRelated(body("Content-Type: application/dicom\r\n\r\nAAA", "\r\nBB\r\n--b1x"), "b1", 10);
  assert.equal(parts.length, 2);
  assert.equal(parts[0]!.headers["content-type"], "application/dicom");
  assert.equal(parts[0]!.body.toString(), "AAA");
  assert.deepEqual(parts[1]!.headers, {});
  assert.equal(parts[1]!.body.toString(), "BB\r\n--b1x", "a boundary-like text inside a part does not split it");
});

test("more parts than the limit are refused before any part is read; malformed bodies are refused", () => {
  const three = body("\r\nA", "\r\nB", "\r\nC");
  assert.throws(
    () => splitRelated(three, "b1", 2),
    (e: unknown) => e instanceof MultipartError && e.code === "TOO_MANY_PARTS",
  );
  assert.equal(splitRelated(three, "b1", 3).length, 3);
  for (const bad of [Buffer.from("no delimiter at all"), Buffer.from("--b1\r\n\r\nnever closed")]) {
    assert.throws(
      () => splitRelated(bad, "b1", 5),
      (e: unknown) => e instanceof MultipartError && e.code === "BAD_REQUEST",
    );
  }
  assert.throws(() => splitRelated(three, "x".repeat(71), 5), MultipartError, "a boundary over 70 characters");
});

test("the Content-Type's parameters are read with quotes removed", () => {
  assert.deepEqual(parseContentType('Multipart/Related; type="application/dicom"; boundary=abc'), {
    type: "multipart/related",
    params: { type: "application/dicom", boundary: "abc" },
  });
});

test("the STOW-RS response lists stored instances as ReferencedSOPSequence and failures with their reason", () => {
  const ok = { identity: { sopClassUid: "1.2.3", sopInstanceUid: "1.2.3.4" }, failure: null };
  const dup = { identity: { sopClassUid: "1.2.3", sopInstanceUid: "1.2.3.5" }, failure: FAILURE.DUPLICATE_SOP_INSTANCE };
  const junk = { identity: null, failure: FAILURE.CANNOT_UNDERSTAND };
  const res = stowResponse([ok, dup, junk]) as any;
  assert.deepEqual(res["00081199"].Value, [{ "00081150": { vr: "UI", Value: ["1.2.3"] }, "00081155": { vr: "UI", Value: ["1.2.3.4"] } }]);
  assert.deepEqual(
    res["00081198"].Value.map((i: any) => [i["00081155"].Value?.[0] ?? null, i["00081197"].Value[0]]),
    [
      ["1.2.3.5", 0x0111],
      [null, 0xc000],
    ],
  );
  assert.deepEqual(stowResponse([ok])["00081198"], undefined);
});

test("the header read names a Part 10 file's UIDs and Orthanc id, and nothing else passes", () => {
  const id = readStowIdentity(readFileSync(FIXTURE));
  assert.ok(id);
  assert.match(id.orthancId, /^[0-9a-f]{8}(-[0-9a-f]{8}){4}$/);
  assert.match(id.sopClassUid, /^1\.2\.840\.10008\.5\.1\.4\.1\.1\./, "an image storage SOP class");
  assert.equal(readStowIdentity(Buffer.from("not dicom")), null);
  assert.equal(readStowIdentity(Buffer.alloc(4096)), null, "zeros: no DICM marker");
  const truncated = readFileSync(FIXTURE).subarray(0, 200);
  assert.equal(readStowIdentity(truncated), null);
  assert.equal(orthancInstanceId("P", "1", "2", "3"), orthancInstanceId("P", "1", "2", "3"));
  assert.notEqual(orthancInstanceId("P", "1", "2", "3"), orthancInstanceId("Q", "1", "2", "3"), "the patient id is part of it");
});
