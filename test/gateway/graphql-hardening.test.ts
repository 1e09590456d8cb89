// Issue 14, findings 1, 3 and 8 (schema part) against a real gateway: hostile documents are refused before
// execution with a typed code and in work proportional to their size; page sizes are validated; aliases are
// capped; introspection and "Did you mean" suggestions are off unless configured.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startGatewayFixture, subscribe } from "./fixture.ts";
import { chainedFragments } from "./attacks.ts";

const refusedLog = (logs: Record<string, unknown>[], requestId: string) =>
  logs.find((l) => l.msg === "GraphQL document refused" && l.requestId === requestId);

test("GraphQL hardening: limits before execution, page sizes, aliases, introspection", { timeout: 300_000 }, async (t) => {
  const fx = await startGatewayFixture(t);
  const auth = fx.a.RADIOLOGIST;
  const auditRows = () => fx.ctx.db.prisma.auditEvent.count();

  await t.test("an unauthenticated 30-level chain of fragment spreads is refused at once, in linear work", async () => {
    const attack = chainedFragments(30);
    assert.ok(attack.length > 1000 && attack.length < 2048, `${attack.length} bytes`);
    const r = await fx.gql(attack, {}, { "x-request-id": "attack-unauth" });
    assert.equal(r.status, 401);
    assert.equal(r.body.errors?.[0]?.extensions?.code, "UNAUTHENTICATED");
    const log = refusedLog(fx.logs, "attack-unauth");
    assert.ok(log, "the refusal is logged with the analysis counters");
    assert.ok(Number(log!.visited) <= 3 * Number(log!.nodes), `visited ${log!.visited} for ${log!.nodes} nodes`);
  });

  await t.test("the same chain made only of the public `login` is refused by the root-field limit", async () => {
    const r = await fx.gql(
      chainedFragments(30, "mutation", "Mutation", `login(email: "x@y.z", password: "p") { token }`),
      {},
      { "x-request-id": "attack-login" },
    );
    assert.equal(r.status, 400);
    assert.equal(r.body.errors?.[0]?.extensions?.code, "TOO_MANY_ROOT_FIELDS");
    assert.ok(Number(refusedLog(fx.logs, "attack-login")!.visited) < 200);
  });

  await t.test("with credentials, chains under one field are refused by the expanded-selection count", async () => {
    const doc =
      `query { viewer { ...V30 } }\nfragment V0 on Viewer { id }\n` +
      Array.from({ length: 30 }, (_, i) => `fragment V${i + 1} on Viewer { ...V${i} ...V${i} }`).join("\n");
    const r = await fx.gql(doc, {}, { ...auth, "x-request-id": "attack-auth" });
    assert.equal(r.status, 400);
    assert.equal(r.body.errors?.[0]?.extensions?.code, "TOO_MANY_SELECTIONS");
    const log = refusedLog(fx.logs, "attack-auth")!;
    assert.ok(Number(log.visited) <= 3 * Number(log.nodes));
  });

  await t.test("GET requests and batched bodies do not get around the limits", async () => {
    const get = await fetch(`${fx.gateway.url}/graphql?query=${encodeURIComponent(chainedFragments(30))}`, {
      headers: { "apollo-require-preflight": "1" },
    });
    assert.equal(get.status, 401);
    const batch = await fetch(`${fx.gateway.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth },
      body: JSON.stringify([{ query: `{ studies(first: -5) { totalCount } }` }]),
    });
    assert.equal(batch.status, 400, "Apollo refuses batches (allowBatchedHttpRequests is off)");
    const persisted = await fetch(`${fx.gateway.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth },
      body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } } }),
    });
    const body = (await persisted.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
    assert.equal(body.errors?.[0]?.extensions?.code, "PERSISTED_QUERY_NOT_SUPPORTED", "every request carries its document");
    assert.equal(body.data, undefined);
  });

  await t.test("fragment cycles are refused with FRAGMENT_CYCLE", async () => {
    const r = await fx.gql(`query { ...A } fragment A on Query { viewer { id } ...B } fragment B on Query { ...A }`, {}, auth);
    assert.equal(r.status, 400);
    assert.equal(r.body.errors?.[0]?.extensions?.code, "FRAGMENT_CYCLE");
  });

  await t.test("normal queries still work, through fragments and variables", async () => {
    const r = await fx.gql(
      `query($n: Int) { viewer { ...Me } studies(first: $n) { totalCount edges { node { id patient { externalId } } } } labels }
       fragment Me on Viewer { id role tenant { name } }`,
      { n: 20 },
      auth,
    );
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.errors, undefined);
    assert.equal(r.body.data.viewer.role, "RADIOLOGIST");
    const login = await fx.gql(`mutation { login(email: "nobody@x.y", password: "wrong") { token errors { code } } }`);
    assert.equal(login.status, 200);
  });

  await t.test("a negative or huge page size is BAD_USER_INPUT before anything runs, however many aliases", async () => {
    const before = await auditRows();
    const aliases = Array.from({ length: 25 }, (_, i) => `s${i}: studies(first: 1) { totalCount }`).join(" ");
    for (const doc of [
      `{ a: studies(first: -100000000) { totalCount } ${aliases} }`,
      `{ studies(first: 0) { totalCount } }`,
      `{ patients(first: 1000000) { totalCount } }`,
    ]) {
      const r = await fx.gql(doc, {}, auth);
      assert.equal(r.status, 400, doc);
      assert.equal(r.body.errors?.[0]?.extensions?.code, "BAD_USER_INPUT");
      assert.equal(r.body.errors?.[0]?.extensions?.argumentName, "first");
      assert.ok(Number.isNaN(r.queries), "refused before Apollo: no database query was made");
    }
    const viaVariable = await fx.gql(`query($n: Int) { auditEvents(first: $n) { pageInfo { hasNextPage } } }`, { n: -1 }, fx.a.ADMIN);
    assert.equal(viaVariable.body.errors?.[0]?.extensions?.code, "BAD_USER_INPUT");
    assert.equal(await auditRows(), before, "no audit rows were written by refused requests");
  });

  await t.test("cheap fields aliased 1,000 times are refused; a handful is fine", async () => {
    const many = (field: string, n: number) => `{ ${Array.from({ length: n }, (_, i) => `x${i}: ${field}`).join(" ")} }`;
    for (const field of ["labels", "queue { deadLetters }"]) {
      const r = await fx.gql(many(field, 1000), {}, auth);
      assert.ok(r.status === 400 || r.status === 413, String(r.status));
      assert.ok(["TOO_MANY_ALIASES", "QUERY_TOO_LARGE", "QUERY_TOO_MANY_TOKENS"].includes(String(r.body.errors?.[0]?.extensions?.code)));
      const limited = await fx.gql(many(field, 31), {}, auth);
      assert.equal(limited.body.errors?.[0]?.extensions?.code, "TOO_MANY_ALIASES");
      const fine = await fx.gql(many(field, 5), {}, auth);
      assert.equal(fine.body.errors, undefined, JSON.stringify(fine.body));
    }
  });

  await t.test("introspection is off by default, and errors name no schema fields", async () => {
    const intro = await fx.gql(`{ __schema { types { name } } }`, {}, auth);
    assert.equal(intro.status, 400);
    assert.match(intro.body.errors?.[0]?.message ?? "", /introspection/i);
    const typo = await fx.gql(`{ studiez { totalCount } }`, {}, auth);
    assert.equal(typo.body.errors?.[0]?.extensions?.code, "GRAPHQL_VALIDATION_FAILED");
    assert.doesNotMatch(JSON.stringify(typo.body), /Did you mean|"studies"/);
    const enumTypo = await fx.gql(`query($s: StudyStatus) { studies(filter: { status: $s }) { totalCount } }`, { s: "REVIEWD" }, auth);
    assert.ok(enumTypo.body.errors?.length);
    assert.doesNotMatch(JSON.stringify(enumTypo.body), /Did you mean|REVIEWED/);
  });

  await t.test("with introspection off a browser gets no sandbox landing page (it would load a third-party CDN)", async () => {
    const r = await fetch(`${fx.gateway.url}/graphql`, { headers: { accept: "text/html" } });
    assert.notEqual(r.status, 200);
    assert.doesNotMatch(r.headers.get("content-type") ?? "", /text\/html/);
    assert.doesNotMatch(await r.text(), /apollographql|<html/i);
  });

  await t.test("subscriptions over WebSocket pass the same limits", async () => {
    const client = fx.ws({ authorization: auth.authorization });
    const doc =
      `subscription { ...S8 }\nfragment S0 on Subscription { tenantAnalysisUpdates { status } }\n` +
      Array.from({ length: 8 }, (_, i) => `fragment S${i + 1} on Subscription { ...S${i} ...S${i} }`).join("\n");
    const sub = subscribe(client, doc);
    const deadline = Date.now() + 10_000;
    while (sub.errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(JSON.stringify(sub.errors), /TOO_MANY_ROOT_FIELDS/);
    sub.unsubscribe();
  });
});

test("introspection and suggestions come back only when configured", { timeout: 300_000 }, async (t) => {
  const fx = await startGatewayFixture(t, { env: { GRAPHQL_INTROSPECTION: "true" } });
  const intro = await fx.gql(`{ __schema { queryType { name } } }`, {}, fx.a.RADIOLOGIST);
  assert.equal(intro.body.data?.__schema.queryType.name, "Query");
  const typo = await fx.gql(`{ studiez { totalCount } }`, {}, fx.a.RADIOLOGIST);
  assert.match(JSON.stringify(typo.body), /Did you mean/);
  const anonymous = await fx.gql(`{ __schema { queryType { name } } }`);
  assert.equal(anonymous.status, 401, "never without credentials");
});
