// GET /fhir/r4 against a real gateway and PostgreSQL: reads equal the resources inside Study.fhirBundle, search
// filters and pages, other tenants get 404, refusals are OperationOutcomes with FHIR's HTTP codes, reads are
// audited without PHI in the logs, and everything served passes the HL7 FHIR validator.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startGatewayFixture, type Auth, type GatewayFixture } from "./fixture.ts";
import { seedAnalysedStudy, type SeededFhirStudy } from "./fhir-rest-seed.ts";
import { fhirValidatorMissing, validateFhir, validationErrors } from "../helpers/fhir-validator.ts";

interface FhirAnswer {
  status: number;
  headers: Headers;
  body: any;
}

async function fhir(fx: GatewayFixture, path: string, auth: Auth = {}, init: RequestInit = {}): Promise<FhirAnswer> {
  const response = await fetch(`${fx.gateway.url}/fhir/r4${path}`, {
    ...init,
    headers: { ...auth, ...(init.headers as Record<string, string>) },
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

function assertOutcome(answer: FhirAnswer, status: number, code: string) {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.match(answer.headers.get("content-type") ?? "", /^application\/fhir\+json/);
  assert.equal(answer.body.resourceType, "OperationOutcome");
  assert.equal(answer.body.issue[0].code, code);
}

async function bundleOf(fx: GatewayFixture, studyId: string, auth: Auth) {
  const r = await fx.gql(`query($s: ID!) { study(id: $s) { fhirBundle } }`, { s: studyId }, auth);
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  return r.body.data.study.fhirBundle as { entry: { fullUrl: string; resource: any }[] };
}

test("the /fhir/r4 endpoint", async (t) => {
  const fx = await startGatewayFixture(t);
  const tenantA = fx.tenantA.tenantId;
  const served: unknown[] = [];
  const keep = (answer: FhirAnswer) => {
    served.push(answer.body);
    return answer;
  };
  const studies: SeededFhirStudy[] = [];
  for (let i = 0; i < 3; i++) studies.push(await seedAnalysedStudy(fx, tenantA, i < 2 ? "PAT-A" : "PAT-B", `ACC-${i}`, i + 1));
  const other = await seedAnalysedStudy(fx, fx.tenantB.tenantId, "PAT-A", "ACC-0", 9);
  const radiologist = fx.tenantA.users.find((u) => u.role === "RADIOLOGIST");
  assert.ok(radiologist);
  await fx.ctx.repos.reviews.create({
    tenantId: tenantA,
    analysisId: studies[0]!.reportAnalysisId,
    reviewerId: radiologist.id,
    actor: radiologist.email,
    action: "ACCEPT",
  });
  const base = `${fx.gateway.url}/fhir/r4`;
  const [first] = studies as [SeededFhirStudy];

  await t.test("metadata is a CapabilityStatement listing the four read types and the DiagnosticReport search", async () => {
    const r = keep(await fhir(fx, "/metadata"));
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /^application\/fhir\+json/);
    assert.equal(r.body.resourceType, "CapabilityStatement");
    assert.equal(r.body.fhirVersion, "4.0.1");
    const resources = r.body.rest[0].resource;
    assert.deepEqual(resources.map((x: any) => x.type).sort(), ["Device", "DiagnosticReport", "ImagingStudy", "Observation"]);
    const report = resources.find((x: any) => x.type === "DiagnosticReport");
    assert.deepEqual(
      report.interaction.map((i: any) => i.code),
      ["read", "search-type"],
    );
    assert.deepEqual(
      report.searchParam.map((p: any) => p.name),
      ["identifier", "subject:identifier", "status", "_count", "_offset"],
    );
  });

  await t.test("every resource of Study.fhirBundle reads back by type and id, identical, with an API key or a bearer token", async () => {
    const bundle = await bundleOf(fx, first.studyId, fx.a.CLINICIAN);
    served.push(bundle);
    assert.equal(bundle.entry.length, 5);
    for (const entry of bundle.entry) {
      const { resourceType, id } = entry.resource;
      assert.equal(entry.fullUrl, `${base}/${resourceType}/${id}`);
      for (const auth of [fx.apiKeyA, fx.a.AUDITOR]) {
        const r = keep(await fhir(fx, `/${resourceType}/${id}`, auth));
        assert.equal(r.status, 200, `${resourceType}/${id}: ${JSON.stringify(r.body)}`);
        assert.match(r.headers.get("content-type") ?? "", /^application\/fhir\+json/);
        assert.deepEqual(r.body, entry.resource);
      }
    }
    const report = bundle.entry.find((e) => e.resource.resourceType === "DiagnosticReport")!.resource;
    assert.equal(report.id, first.studyId);
    assert.equal(report.status, "final");
    assert.deepEqual(
      report.identifier.map((i: any) => i.value),
      ["ACC-0"],
    );
  });

  await t.test("reads are audited as fhir.read with the caller, and no patient or accession id reaches the logs", async () => {
    const audited = await fx.ctx.db.prisma.auditEvent.findMany({ where: { tenantId: tenantA, action: "fhir.read" } });
    assert.ok(audited.length >= 10);
    assert.ok(audited.some((e) => e.actor === `user:${fx.tenantA.users.find((u) => u.role === "AUDITOR")!.id}`));
    assert.ok(audited.every((e) => e.targetType && e.targetId));
    const logs = JSON.stringify(fx.logs);
    assert.doesNotMatch(logs, /PAT-A|PAT-B|ACC-0/);
  });

  await t.test("search by accession, patient id (with or without the tenant's system) and status returns searchset Bundles", async () => {
    const byAccession = keep(await fhir(fx, "/DiagnosticReport?identifier=ACC-1", fx.a.CLINICIAN));
    assert.equal(byAccession.status, 200);
    assert.equal(byAccession.body.type, "searchset");
    assert.equal(byAccession.body.total, 1);
    assert.equal(byAccession.body.entry[0].resource.id, studies[1]!.studyId);
    assert.equal(byAccession.body.entry[0].search.mode, "match");
    assert.equal(byAccession.body.entry[0].fullUrl, `${base}/DiagnosticReport/${studies[1]!.studyId}`);

    const byPatient = keep(await fhir(fx, "/DiagnosticReport?subject:identifier=PAT-A", fx.a.CLINICIAN));
    assert.equal(byPatient.body.total, 2);
    const system = encodeURIComponent(`urn:gkmvlp:tenant:${tenantA}:patient|PAT-B`);
    const withSystem = keep(await fhir(fx, `/DiagnosticReport?subject:identifier=${system}`, fx.a.CLINICIAN));
    assert.deepEqual(
      withSystem.body.entry.map((e: any) => e.resource.id),
      [studies[2]!.studyId],
    );
    const otherSystem = keep(await fhir(fx, "/DiagnosticReport?subject:identifier=urn:other|PAT-A", fx.a.CLINICIAN));
    assert.equal(otherSystem.body.total, 0);

    const final = keep(await fhir(fx, "/DiagnosticReport?status=final", fx.a.CLINICIAN));
    assert.deepEqual(
      final.body.entry.map((e: any) => e.resource.id),
      [first.studyId],
    );
    const preliminary = keep(await fhir(fx, "/DiagnosticReport?status=preliminary,amended&subject:identifier=PAT-A", fx.a.CLINICIAN));
    assert.deepEqual(
      preliminary.body.entry.map((e: any) => e.resource.id),
      [studies[1]!.studyId],
    );
    const searches = await fx.ctx.db.prisma.auditEvent.findMany({ where: { tenantId: tenantA, action: "fhir.search" } });
    assert.ok(searches.length >= 6);
    assert.doesNotMatch(JSON.stringify(searches.map((s) => s.details)), /PAT-A|PAT-B|ACC-1/);
  });

  await t.test("search pages with _count and next/previous links, and caps _count at 50", async () => {
    const page1 = keep(await fhir(fx, "/DiagnosticReport?_count=2", fx.a.CLINICIAN));
    assert.equal(page1.body.total, 3);
    assert.deepEqual(
      page1.body.entry.map((e: any) => e.resource.id),
      [studies[2]!.studyId, studies[1]!.studyId],
    );
    const next = page1.body.link.find((l: any) => l.relation === "next");
    assert.ok(next, "a next link");
    assert.equal(
      page1.body.link.find((l: any) => l.relation === "previous"),
      undefined,
    );
    const page2 = keep(await fhir(fx, next.url.slice(base.length), fx.a.CLINICIAN));
    assert.deepEqual(
      page2.body.entry.map((e: any) => e.resource.id),
      [first.studyId],
    );
    assert.equal(
      page2.body.link.find((l: any) => l.relation === "next"),
      undefined,
    );
    assert.ok(page2.body.link.find((l: any) => l.relation === "previous"));
    const capped = keep(await fhir(fx, "/DiagnosticReport?_count=500", fx.a.CLINICIAN));
    assert.equal(capped.status, 200);
    assert.match(capped.body.link.find((l: any) => l.relation === "self").url, /_count=50(&|$)/);
  });

  await t.test("another tenant's ids are 404 and its reports are not found by search", async () => {
    for (const path of [`/DiagnosticReport/${first.studyId}`, `/ImagingStudy/${first.studyId}`, `/Observation/${first.studyId}-f-1`]) {
      assertOutcome(keep(await fhir(fx, path, fx.b.RADIOLOGIST)), 404, "not-found");
    }
    assertOutcome(keep(await fhir(fx, `/DiagnosticReport/${other.studyId}`, fx.a.ADMIN)), 404, "not-found");
    const search = keep(await fhir(fx, "/DiagnosticReport?identifier=ACC-0", fx.b.RADIOLOGIST));
    assert.deepEqual(
      search.body.entry.map((e: any) => e.resource.id),
      [other.studyId],
    );
  });

  await t.test("refusals: 401 without or with bad credentials, 403 for the operator, 405 for writes, 404 for unknown types", async () => {
    assertOutcome(keep(await fhir(fx, `/DiagnosticReport/${first.studyId}`)), 401, "login");
    assertOutcome(keep(await fhir(fx, "/DiagnosticReport", { authorization: "Bearer nope" })), 401, "login");
    assertOutcome(keep(await fhir(fx, "/DiagnosticReport", { "x-api-key": "gk_unknown_key_0123456789" })), 401, "login");
    assertOutcome(keep(await fhir(fx, `/DiagnosticReport/${first.studyId}`, await fx.operator())), 403, "forbidden");
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      const r = keep(
        await fhir(fx, `/DiagnosticReport/${first.studyId}`, fx.a.ADMIN, {
          method,
          body: "{}",
          headers: { "content-type": "application/fhir+json" },
        }),
      );
      assertOutcome(r, 405, "not-supported");
      assert.equal(r.headers.get("allow"), "GET");
    }
    assertOutcome(keep(await fhir(fx, "/Patient/123", fx.a.ADMIN)), 404, "not-supported");
    assertOutcome(keep(await fhir(fx, "/Observation/nope-f-1", fx.a.ADMIN)), 404, "not-found");
    assertOutcome(keep(await fhir(fx, "/Device/model-0000", fx.a.ADMIN)), 404, "not-found");
  });

  await t.test("bad parameters are 400, other formats 406, an over-long URL 414, all as OperationOutcome", async () => {
    const auth = fx.a.CLINICIAN;
    assertOutcome(keep(await fhir(fx, "/DiagnosticReport?patient=1", auth)), 400, "not-supported");
    assertOutcome(keep(await fhir(fx, "/DiagnosticReport?_count=abc", auth)), 400, "invalid");
    assertOutcome(keep(await fhir(fx, "/DiagnosticReport?_count=0", auth)), 400, "invalid");
    assertOutcome(keep(await fhir(fx, "/DiagnosticReport?_offset=-1", auth)), 400, "invalid");
    assertOutcome(keep(await fhir(fx, "/DiagnosticReport?status=draft", auth)), 400, "invalid");
    assertOutcome(keep(await fhir(fx, "/DiagnosticReport?identifier=a&identifier=b", auth)), 400, "not-supported");
    assertOutcome(keep(await fhir(fx, "/DiagnosticReport?identifier=a,b", auth)), 400, "not-supported");
    assertOutcome(keep(await fhir(fx, `/DiagnosticReport?identifier=${"x".repeat(200)}`, auth)), 400, "invalid");
    const many = Array.from({ length: 11 }, (_, i) => `p${i}=1`).join("&");
    assertOutcome(keep(await fhir(fx, `/DiagnosticReport?${many}`, auth)), 400, "too-costly");
    assertOutcome(keep(await fhir(fx, "/ImagingStudy?identifier=x", auth)), 400, "not-supported");
    assertOutcome(keep(await fhir(fx, `/DiagnosticReport/${"x".repeat(65)}`, auth)), 400, "invalid");
    assertOutcome(keep(await fhir(fx, `/DiagnosticReport/${first.studyId}/_history/1`, auth)), 400, "not-supported");
    assertOutcome(keep(await fhir(fx, `/DiagnosticReport/${first.studyId}?_elements=id`, auth)), 400, "not-supported");
    assertOutcome(keep(await fhir(fx, `/DiagnosticReport?identifier=${"x".repeat(2100)}`, auth)), 414, "too-costly");
    assertOutcome(keep(await fhir(fx, "/metadata", auth, { headers: { accept: "application/fhir+xml" } })), 406, "not-supported");
    assertOutcome(keep(await fhir(fx, "/metadata?_format=xml", auth)), 406, "not-supported");
    const json = await fhir(fx, `/DiagnosticReport/${first.studyId}?_format=json`, auth, { headers: { accept: "application/json" } });
    assert.equal(json.status, 200);
  });

  await t.test("the HL7 FHIR validator finds no error in anything served, and does find the errors of a broken resource", async (st) => {
    const missing = fhirValidatorMissing();
    if (missing) return st.skip(missing);
    const report = served.find((r: any) => r?.resourceType === "DiagnosticReport") as Record<string, unknown>;
    const observation = served.find((r: any) => r?.resourceType === "Observation") as Record<string, unknown>;
    const broken = [
      { ...report, status: "signed", issued: "yesterday" },
      { ...observation, code: undefined, valueQuantity: { value: "high" } },
    ];
    const resources = [...served, ...broken];
    const issues = await validateFhir(resources);
    const errors = validationErrors(resources.slice(0, served.length), issues.slice(0, served.length));
    assert.deepEqual(errors, [], `${served.length} resources validated`);
    const types = new Set(served.map((r: any) => r.resourceType));
    assert.deepEqual([...types].sort(), [
      "Bundle",
      "CapabilityStatement",
      "Device",
      "DiagnosticReport",
      "ImagingStudy",
      "Observation",
      "OperationOutcome",
    ]);
    const brokenErrors = validationErrors(broken, issues.slice(served.length));
    assert.ok(
      brokenErrors.some((e) => e.startsWith("DiagnosticReport/") && /signed/.test(e)),
      brokenErrors.join("\n"),
    );
    assert.ok(
      brokenErrors.some((e) => e.startsWith("DiagnosticReport/") && /instant/i.test(e)),
      brokenErrors.join("\n"),
    );
    assert.ok(
      brokenErrors.some((e) => e.startsWith("Observation/") && /Observation\.code/.test(e)),
      brokenErrors.join("\n"),
    );
  });
});

test("/fhir/r4 answers 429 with Retry-After once a caller's rate limit is spent; links use FHIR_BASE_URL", async (t) => {
  const publicBase = "https://ai.hospital.example/fhir/r4";
  const fx = await startGatewayFixture(t, {
    env: { GRAPHQL_RATE_BURST: "20", GRAPHQL_RATE_PER_SECOND: "0.01", FHIR_BASE_URL: publicBase },
  });
  const statuses: number[] = [];
  let refused: FhirAnswer | null = null;
  for (let i = 0; i < 25 && !refused; i++) {
    const r = await fhir(fx, "/DiagnosticReport?_count=1", fx.apiKeyA);
    statuses.push(r.status);
    if (r.status === 429) refused = r;
  }
  assert.ok(refused, `statuses ${statuses.join(",")}`);
  assertOutcome(refused, 429, "throttled");
  assert.ok(Number(refused.headers.get("retry-after")) >= 1);
  // another caller is not affected
  const other = await fhir(fx, "/DiagnosticReport?_count=1", fx.b.CLINICIAN);
  assert.equal(other.status, 200);
  assert.equal(other.body.link[0].url, `${publicBase}/DiagnosticReport?_count=1&_offset=0`);
  assert.equal((await fhir(fx, "/metadata")).body.implementation.url, publicBase);
});
