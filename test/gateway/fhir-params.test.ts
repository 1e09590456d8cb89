// /fhir/r4 request parsing (no server): routes, content negotiation, search parameters and their limits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { acceptsFhirJson, parseReportSearch, parseRoute } from "../../services/gateway/src/fhir/params.ts";
import { FhirHttpError } from "../../services/gateway/src/fhir/outcome.ts";
import { loadGatewayConfig } from "../../services/gateway/src/config.ts";

const SYSTEM = "urn:gkmvlp:tenant:t1:patient";
const search = (query: string) => parseReportSearch(new URL(`http://x/fhir/r4/DiagnosticReport?${query}`), SYSTEM);

function refused(fn: () => unknown, status: number, issue: string) {
  assert.throws(fn, (error: unknown) => error instanceof FhirHttpError && error.status === status && error.issue === issue);
}

test("routes: metadata, read of the four types, search on DiagnosticReport only; other shapes are refused", () => {
  assert.deepEqual(parseRoute("/metadata"), { kind: "metadata" });
  assert.deepEqual(parseRoute("/Observation/abc-f-2"), { kind: "read", type: "Observation", id: "abc-f-2" });
  assert.deepEqual(parseRoute("/DiagnosticReport"), { kind: "search", type: "DiagnosticReport" });
  refused(() => parseRoute("/Patient/1"), 404, "not-supported");
  refused(() => parseRoute("/Observation"), 400, "not-supported");
  refused(() => parseRoute("/Device/x/_history"), 400, "not-supported");
  refused(() => parseRoute("/Device/a%2Fb"), 400, "invalid");
  refused(() => parseRoute("/Device/%E0%A4%A"), 400, "invalid");
});

test("Accept: FHIR JSON, JSON and wildcards are served, XML or q=0 is not", () => {
  for (const accept of [undefined, "", "application/fhir+json", "application/json;q=0.5", "text/html, */*;q=0.1", "application/*"])
    assert.equal(acceptsFhirJson(accept), true, String(accept));
  for (const accept of ["application/fhir+xml", "text/html", "application/fhir+json;q=0"])
    assert.equal(acceptsFhirJson(accept), false, accept);
});

test("search parameters: tokens with and without system, status lists, _count capped, _offset bounded", () => {
  assert.deepEqual(search("identifier=ACC-1").search, { count: 20, offset: 0, accession: "ACC-1" });
  assert.equal(search("identifier=|ACC-1").impossible, false);
  assert.equal(search("identifier=urn:x|ACC-1").impossible, true);
  assert.equal(search(`subject:identifier=${encodeURIComponent(`${SYSTEM}|P1`)}`).impossible, false);
  assert.equal(search("subject:identifier=urn:other|P1").impossible, true);
  assert.deepEqual(search("status=final,amended").search.statuses, ["final", "amended"]);
  assert.equal(search("_count=500").search.count, 50);
  assert.equal(search("_offset=10000").search.offset, 10000);
  assert.deepEqual(search("identifier=A&_count=5&_offset=5").given, [["identifier", "A"]]);
  refused(() => search("_offset=10001"), 400, "invalid");
  refused(() => search("_count=1.5"), 400, "invalid");
  refused(() => search("status=final,draft"), 400, "invalid");
  refused(() => search("identifier="), 400, "invalid");
  refused(() => search("identifier=x|"), 400, "invalid");
  refused(() => search("_sort=date"), 400, "not-supported");
  refused(() => search("_format=xml"), 406, "not-supported");
});

test("FHIR_BASE_URL must be an absolute http(s) URL without a trailing slash", () => {
  const env = { DATABASE_URL: "postgresql://u@127.0.0.1:5432/d", KAFKA_BROKERS: "127.0.0.1:9092", AUTH_TOKEN_SECRET: "x".repeat(32) };
  assert.equal(loadGatewayConfig(env).fhir.baseUrl, null);
  assert.equal(loadGatewayConfig({ ...env, FHIR_BASE_URL: "https://ai.example/fhir/r4" }).fhir.baseUrl, "https://ai.example/fhir/r4");
  for (const bad of ["https://ai.example/fhir/r4/", "ftp://ai.example/fhir", "/fhir/r4", "https://ai.example/fhir?x=1"])
    assert.throws(() => loadGatewayConfig({ ...env, FHIR_BASE_URL: bad }), bad);
});
