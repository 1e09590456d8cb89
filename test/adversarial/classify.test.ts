// The adversarial suite's verdict rules (test/adversarial/classify.ts): what counts as a leak, and which verdict
// of an attack's answers decides its outcome.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createTally, findLeaks, judge, worst } from "./classify.ts";
import type { Answer } from "./http.ts";

const answer = (text: string, over: Partial<Answer> = {}): Answer => ({
  status: 200,
  headers: new Headers(),
  text,
  json: undefined,
  ms: 1,
  hung: false,
  ...over,
});
const SECRETS = ["VICTIM-MRN-1a2b", "Victim Hospital 1a2b"];

test("another tenant's marker strings, suggestions, stack traces and internal errors are leaks", () => {
  assert.deepEqual(findLeaks(`{"data":{"patient":{"externalId":"VICTIM-MRN-1a2b"}}}`, SECRETS), ["another tenant's data (VICT…)"]);
  assert.deepEqual(findLeaks(`{"errors":[{"message":"Cannot query field \\"studiez\\". Did you mean \\"studies\\"?"}]}`, SECRETS), [
    "field or enum suggestion",
  ]);
  assert.ok(findLeaks(`Error: boom\n    at resolve (/srv/app/resolvers.ts:10:5)`, SECRETS).includes("stack trace"));
  assert.ok(findLeaks(`{"message":"Invalid \`prisma.study.findUnique()\` invocation"}`, SECRETS).includes("database error text"));
  assert.ok(findLeaks(`{"message":"TypeError: Cannot read properties of undefined"}`, SECRETS).includes("JavaScript error text"));
  assert.ok(findLeaks(`{"data":{"__schema":{"types":[]}}}`, SECRETS).includes("introspection result"));
});

test("typed refusals, masked errors and the attacker's own ids are not leaks", () => {
  for (const text of [
    `{"errors":[{"message":"Study 158392ac-2e26-4e3f-a0df-dd977342d69e not found.","extensions":{"code":"NOT_FOUND"}}]}`,
    `{"errors":[{"message":"Internal server error","extensions":{"code":"INTERNAL_SERVER_ERROR","errorId":"0b7c…"}}]}`,
    `{"errors":[{"message":"GraphQL introspection is not allowed by Apollo Server, but the query contained __schema or __type."}]}`,
    `{"data":{"study":null,"patient":null}}`,
  ])
    assert.deepEqual(findLeaks(text, SECRETS), [], text);
});

test("an answer is hung before leaked, leaked before refused, and unexpected when neither refused nor absorbed", () => {
  assert.equal(judge({ what: "x", answer: answer("", { hung: true, status: 0 }), refused: true }, SECRETS).verdict, "hung");
  assert.equal(judge({ what: "x", answer: answer("VICTIM-MRN-1a2b"), refused: true }, SECRETS).verdict, "leaked");
  assert.equal(judge({ what: "x", answer: answer("{}"), refused: true }, SECRETS).verdict, "refused");
  assert.equal(judge({ what: "x", answer: answer("{}"), refused: false, absorbed: true }, SECRETS).verdict, "absorbed");
  const unexpected = judge({ what: "31 aliases", answer: answer(`{"data":{}}`), refused: false }, SECRETS);
  assert.equal(unexpected.verdict, "unexpected");
  assert.match(unexpected.reason!, /^31 aliases: 200/);
});

test("an attack takes its worst answer; a crash overrides everything; no answers is not a refusal", () => {
  assert.equal(worst(["refused", "absorbed", "refused"]), "absorbed");
  assert.equal(worst(["refused", "leaked", "hung"]), "hung");
  assert.equal(worst([]), "unexpected");
  const tally = createTally(SECRETS);
  tally.add([
    { what: "a", answer: answer("{}"), refused: true },
    { what: "b", answer: answer("{}"), refused: false, absorbed: true },
  ]);
  assert.deepEqual(tally.counts, { refused: 1, absorbed: 1, unexpected: 0, leaked: 0, hung: 0 });
  assert.equal(tally.outcome(false), "absorbed");
  assert.equal(tally.outcome(true), "crashed");
  assert.equal(createTally(SECRETS).outcome(false), "unexpected");
});

test("a rate-limit or overload refusal counts as refused whatever code the attack expected; a leak still wins", () => {
  const limited = answer(`{"errors":[{"message":"Rate limit reached","extensions":{"code":"RATE_LIMITED","retriable":true}}]}`, {
    status: 429,
  });
  assert.deepEqual(judge({ what: "typo", answer: limited, refused: false }, SECRETS), { verdict: "refused" });
  const overloaded = answer(`{"errors":[{"extensions":{"code":"OVERLOADED"}}]}`, { status: 503 });
  assert.equal(judge({ what: "x", answer: overloaded, refused: false }, SECRETS).verdict, "refused");
  const served = answer(`{"data":{"ok":true}}`);
  assert.equal(judge({ what: "x", answer: served, refused: false }, SECRETS).verdict, "unexpected");
  const leaking = answer(`{"errors":[{"message":"Did you mean \\"studies\\"?","extensions":{"code":"RATE_LIMITED"}}]}`, { status: 429 });
  assert.equal(judge({ what: "x", answer: leaking, refused: false }, SECRETS).verdict, "leaked");
});
