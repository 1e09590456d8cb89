// The linear query analysis behind the GraphQL limits (services/gateway/src/graphql/limits): no database.
// Work is measured by the analysis' own counter of visited selection nodes, not by timing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parse } from "graphql";
import { buildSchema } from "../../services/gateway/src/graphql/schema.ts";
import { analyseDocument } from "../../services/gateway/src/graphql/limits/analyse.ts";
import { preflight } from "../../services/gateway/src/graphql/limits/preflight.ts";
import { chainedFragments } from "./attacks.ts";
import { TEST_QUERY_LIMITS as LIMITS } from "./query-limits.ts";

const schema = buildSchema();

test("chained fragment spreads are analysed in work proportional to the document", () => {
  for (const levels of [10, 20, 30]) {
    const a = analyseDocument(schema, parse(chainedFragments(levels)));
    const m = a.operations[0]!.metrics;
    assert.equal(m.rootFieldCount, 2 ** levels, "expansion is counted, not performed");
    assert.ok(a.visited <= 3 * a.nodes, `visited ${a.visited} for ${a.nodes} nodes at ${levels} levels`);
  }
  const small = analyseDocument(schema, parse(chainedFragments(10)));
  const big = analyseDocument(schema, parse(chainedFragments(30)));
  assert.ok(big.visited / small.visited < 3.5, `30 levels do ${big.visited} visits, 10 levels ${small.visited}`);
});

test("nested chains through object fields stay linear too, and are measured after expansion", () => {
  const doc =
    `query { viewer { ...V30 } }\nfragment V0 on Viewer { id tenant { id } }\n` +
    Array.from({ length: 30 }, (_, i) => `fragment V${i + 1} on Viewer { a${i}: tenant { id } ...V${i} ...V${i} }`).join("\n");
  const a = analyseDocument(schema, parse(doc));
  const m = a.operations[0]!.metrics;
  assert.ok(m.selections > 2 ** 30);
  assert.ok(m.aliases >= 2 ** 29);
  assert.ok(a.visited <= 3 * a.nodes, `visited ${a.visited}, nodes ${a.nodes}`);
  const verdict = preflight(schema, doc, {}, LIMITS, true);
  assert.equal(verdict.ok, false);
  assert.equal(!verdict.ok && verdict.error.extensions.code, "TOO_MANY_ALIASES");
});

test("fragment cycles are refused before any expansion", () => {
  const verdict = preflight(
    schema,
    `query { ...A } fragment A on Query { ...B } fragment B on Query { viewer { id } ...A }`,
    {},
    LIMITS,
    true,
  );
  assert.equal(verdict.ok, false);
  assert.equal(!verdict.ok && verdict.error.extensions.code, "FRAGMENT_CYCLE");
  assert.match(!verdict.ok ? verdict.error.message : "", /A → B → A/);
});

test("depth and cost keep their meaning: fragments add no level, lists multiply by page size", () => {
  const depth = analyseDocument(
    schema,
    parse(`fragment P on Patient { studies { edges { node { patient { studies { edges { node { id } } } } } } } }
    { studies { edges { node { patient { ...P } } } } }`),
  );
  assert.equal(depth.operations[0]!.metrics.depth, 12);
  const q = `query($n: Int) { patients(first: $n) { edges { node { studies(first: $n) { edges { node { analyses { id } images { id } } } } } } } }`;
  const cost = (n: number) => analyseDocument(schema, parse(q), { n }).operations[0]!.metrics.cost;
  assert.ok(cost(100) > 20_000 && cost(5) < 1000, `cost(5)=${cost(5)} cost(100)=${cost(100)}`);
  // every root field costs at least one, also a scalar list
  assert.equal(analyseDocument(schema, parse(`{ labels regions }`)).operations[0]!.metrics.cost, 2);
});

test("page sizes: negative, zero, huge, fractional and non-numeric values are refused; missing ones count as the default", () => {
  for (const [doc, vars] of [
    [`{ studies(first: -100000000) { totalCount } }`, {}],
    [`{ studies(first: 0) { totalCount } }`, {}],
    [`{ studies(first: 101) { totalCount } }`, {}],
    [`query($n: Int) { studies(first: $n) { totalCount } }`, { n: -5 }],
    [`query($n: Int = -5) { studies(first: $n) { totalCount } }`, {}],
    [`query($n: Int) { studies(first: $n) { totalCount } }`, { n: 2.5 }],
    [`query($n: Int) { studies(first: $n) { totalCount } }`, { n: "10" }],
    [`query($p: ID!) { patient(id: $p) { studies(first: 1000) { totalCount } } }`, { p: "x" }],
  ] as const) {
    const verdict = preflight(schema, doc, vars as Record<string, unknown>, LIMITS, true);
    assert.equal(verdict.ok, false, doc);
    assert.equal(!verdict.ok && verdict.error.extensions.code, "BAD_USER_INPUT", doc);
    assert.match(!verdict.ok ? verdict.error.message : "", /"first" must be between 1 and 100/);
  }
  for (const vars of [{}, { n: null }, { n: 100 }]) {
    const ok = preflight(schema, `query($n: Int) { studies(first: $n) { totalCount } }`, vars, LIMITS, true);
    assert.equal(ok.ok, true, JSON.stringify(vars));
  }
  // a negative size can no longer make the estimate negative and switch the cost limit off
  const a = analyseDocument(schema, parse(`{ studies(first: -100000000) { edges { node { id } } } }`));
  assert.ok(a.operations[0]!.metrics.cost > 0);
});

test("aliases and root fields are counted after expansion, so cheap fields cannot be repeated a thousand times", () => {
  const labels = `{ ${Array.from({ length: 1000 }, (_, i) => `l${i}: labels`).join(" ")} }`;
  const v1 = preflight(schema, labels, {}, { ...LIMITS, maxTokens: 10_000, maxDocumentBytes: 65536 }, true);
  assert.equal(!v1.ok && v1.error.extensions.code, "TOO_MANY_ALIASES");
  const queue = `query { ...Q } fragment Q on Query { ${Array.from({ length: 40 }, (_, i) => `q${i}: queue { deadLetters }`).join(" ")} }`;
  const v2 = preflight(schema, queue, {}, LIMITS, true);
  assert.equal(!v2.ok && v2.error.extensions.code, "TOO_MANY_ALIASES");
  const roots = `{ ${Array.from({ length: 25 }, () => "labels").join(" ")} }`;
  const v3 = preflight(schema, roots, {}, LIMITS, true);
  assert.equal(!v3.ok && v3.error.extensions.code, "TOO_MANY_ROOT_FIELDS");
});

test("document size and token count are capped before and while parsing", () => {
  const big = `{ viewer { id } }${" ".repeat(20_000)}`;
  const v1 = preflight(schema, big, {}, LIMITS, true);
  assert.equal(!v1.ok && v1.error.extensions.code, "QUERY_TOO_LARGE");
  assert.equal(!v1.ok && v1.status, 413);
  const tokens = `{ viewer { ${Array.from({ length: 3000 }, () => "id").join(" ")} } }`;
  const v2 = preflight(schema, tokens, {}, LIMITS, true);
  assert.equal(!v2.ok && v2.error.extensions.code, "QUERY_TOO_MANY_TOKENS");
});

test("without credentials only public root fields pass, and the limits apply to them too", () => {
  const gated = preflight(schema, chainedFragments(30), {}, LIMITS, false);
  assert.equal(!gated.ok && gated.status, 401);
  const logins = chainedFragments(30, "mutation", "Mutation", `login(email: "a@b.c", password: "x") { token }`);
  const limited = preflight(schema, logins, {}, LIMITS, false);
  assert.equal(!limited.ok && limited.error.extensions.code, "TOO_MANY_ROOT_FIELDS");
  const one = preflight(schema, `mutation { login(email: "a@b.c", password: "x") { token } }`, {}, LIMITS, false);
  assert.equal(one.ok, true);
});
