// Query depth and cost limits, pagination bounds, typed expected errors and masking of unexpected ones.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startGatewayFixture, createStudy } from "./fixture.ts";

test("GraphQL limits and error handling", { timeout: 300_000 }, async (t) => {
  const fx = await startGatewayFixture(t, { env: { GRAPHQL_MAX_DEPTH: "8", GRAPHQL_MAX_COST: "20000" } });
  const auth = fx.a.RADIOLOGIST;

  await t.test("a query deeper than the limit is rejected before execution naming the limit", async () => {
    const deep = `{ studies { edges { node { patient { studies { edges { node { patient { studies { edges { node { id } } } } } } } } } } } }`;
    const r = await fx.gql(deep, {}, auth);
    assert.equal(r.status, 400);
    // The limits run before Apollo's validation (issue 14) and answer with their own code; the message names the limit.
    assert.equal(r.body.errors?.[0]?.extensions?.code, "QUERY_TOO_DEEP");
    assert.match(r.body.errors![0]!.message, /Query is too deep: depth \d+ exceeds the limit of 8/);
    assert.equal(r.body.data, undefined);
  });

  await t.test("the depth limit also counts through fragments", async () => {
    const r = await fx.gql(
      `fragment P on Patient { studies { edges { node { patient { studies { edges { node { id } } } } } } } }
       { studies { edges { node { patient { ...P } } } } }`,
      {},
      auth,
    );
    assert.match(r.body.errors?.[0]?.message ?? "", /Query is too deep: depth 12 exceeds the limit of 8/);
  });

  await t.test("a query whose estimated cost is over the limit is rejected with QUERY_TOO_COSTLY, using variables", async () => {
    const query = `query($n: Int) { patients(first: $n) { edges { node { studies(first: $n) { edges { node { analyses { id } images { id } } } } } } } }`;
    const cheap = await fx.gql(query, { n: 5 }, auth);
    assert.equal(cheap.body.errors, undefined, JSON.stringify(cheap.body));
    const costly = await fx.gql(query, { n: 100 }, auth);
    assert.equal(costly.status, 400);
    assert.equal(costly.body.errors?.[0]?.extensions?.code, "QUERY_TOO_COSTLY");
    assert.match(costly.body.errors![0]!.message, /estimated cost \d+ exceeds the limit of 20000/);
  });

  await t.test("a page size above 100 is a BAD_USER_INPUT error naming the argument", async () => {
    const r = await fx.gql(`{ studies(first: 101) { totalCount } }`, {}, auth);
    assert.equal(r.body.errors?.[0]?.extensions?.code, "BAD_USER_INPUT");
    assert.match(r.body.errors![0]!.message, /"first" must be between 1 and 100/);
    const c = await fx.gql(`{ studies(after: "not-a-cursor") { totalCount } }`, {}, auth);
    assert.equal(c.body.errors?.[0]?.extensions?.code, "BAD_USER_INPUT");
  });

  await t.test("expected failures are typed data: VQA without a question, a study without images, an empty MRN", async () => {
    const { studyId } = await createStudy(fx, auth);
    const noQuestion = await fx.gql(
      `mutation($s: ID!) { requestAnalyses(input: { studyId: $s, tasks: [VQA] }) { analyses { id } errors { code message field } } }`,
      { s: studyId },
      auth,
    );
    assert.deepEqual(noQuestion.body.data.requestAnalyses.errors, [
      { code: "VALIDATION", message: "A VQA analysis needs a question.", field: "input.question" },
    ]);
    const noImage = await fx.gql(
      `mutation($s: ID!) { requestAnalyses(input: { studyId: $s, tasks: [CLASSIFICATION] }) { analyses { id } errors { code field } } }`,
      { s: studyId },
      auth,
    );
    assert.deepEqual(noImage.body.data.requestAnalyses.errors, [{ code: "VALIDATION", field: "input.imageId" }]);
    const emptyMrn = await fx.gql(
      `mutation { createPatient(input: { externalId: "  " }) { patient { id } errors { code field } } }`,
      {},
      auth,
    );
    assert.deepEqual(emptyMrn.body.data.createPatient, { patient: null, errors: [{ code: "VALIDATION", field: "input.externalId" }] });
    const dup = await fx.gql(
      `mutation { a: createPatient(input: { externalId: "DUP-1" }) { errors { code } } b: createPatient(input: { externalId: "DUP-1" }) { errors { code field } } }`,
      {},
      auth,
    );
    assert.deepEqual(dup.body.data.b.errors, [{ code: "CONFLICT", field: "input.externalId" }]);
  });

  await t.test(
    "an unexpected error is masked as 'Internal server error' with an error id, and logged with that id and its cause",
    async () => {
      // Real inconsistent data: a study of tenant A whose patient belongs to tenant B (the foreign key alone allows it).
      const other = await fx.ctx.repos.patients.create({ tenantId: fx.tenantB.tenantId, mrn: "B-PATIENT" });
      const broken = await fx.ctx.db.prisma.study.create({
        data: { tenantId: fx.tenantA.tenantId, patientId: other.id, accession: "BROKEN-1" },
      });
      const r = await fx.gql(`query($s: ID!) { study(id: $s) { id patient { externalId } } }`, { s: broken.id }, auth);
      assert.equal(r.status, 200);
      const error = r.body.errors?.[0];
      assert.equal(error?.message, "Internal server error");
      assert.equal(error?.extensions?.code, "INTERNAL_SERVER_ERROR");
      const errorId = error?.extensions?.errorId as string;
      assert.match(errorId, /^[0-9a-f-]{36}$/);
      const text = JSON.stringify(r.body);
      assert.doesNotMatch(text, /B-PATIENT|has no patient|stack/i);
      assert.deepEqual(r.body.data, { study: null }); // Study.patient is non-null: the null propagates to the nullable study
      const logged = fx.logs.find((l) => l.errorId === errorId);
      assert.ok(logged, "the error is logged under the id the client got");
      assert.equal(logged!.msg, "unexpected GraphQL error");
      assert.match(JSON.stringify(logged!.error), /has no patient/);
      assert.ok(String(logged!.actor).startsWith("user:"));
    },
  );
});
