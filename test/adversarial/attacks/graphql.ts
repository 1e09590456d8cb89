// GraphQL documents built to make the gateway work hard or talk: fragment chains and cycles, aliases, page
// sizes, depth, size, root fields, cost, introspection and suggestions, batches. Each must be refused with its
// own code before execution (docs/security.md, "GraphQL limits").
import { chainedFragments } from "../../gateway/attacks.ts";
import { errorCode, request, type Answer } from "../http.ts";
import { seen, type Attack, type AttackContext } from "./types.ts";

/** an attack that sends one document `repeat`-fold concurrently and expects a status and one of some codes */
function documentAttack(
  name: string,
  build: (ctx: AttackContext) => { doc: string; vars?: Record<string, unknown>; auth?: Record<string, string> },
  status: number[],
  codes: string[],
  extra?: (a: Answer) => boolean,
): Attack {
  return {
    name,
    family: "graphql",
    repeat: 3,
    async run(ctx) {
      const { doc, vars, auth } = build(ctx);
      const a = await ctx.gql(doc, vars ?? {}, auth ?? ctx.world.a.RADIOLOGIST);
      const ok = status.includes(a.status) && codes.includes(String(errorCode(a))) && a.json?.data == null && (extra?.(a) ?? true);
      return [seen(name, a, ok)];
    },
  };
}

const aliases = (field: string, n: number) => `{ ${Array.from({ length: n }, (_, i) => `x${i}: ${field}`).join(" ")} }`;
const deep = (levels: number) => {
  let inner = "id";
  for (let i = 0; i < levels; i++) inner = `patient { studies { edges { node { ${inner} } } } }`;
  return `{ studies { edges { node { ${inner} } } } }`;
};

export const graphqlAttacks: Attack[] = [
  documentAttack(
    "chained fragments, 30 levels, no credentials",
    () => ({ doc: chainedFragments(30), auth: {} }),
    [401],
    ["UNAUTHENTICATED"],
  ),
  documentAttack(
    "chained fragments, 20 levels, authenticated",
    () => ({ doc: chainedFragments(20) }),
    [400],
    ["TOO_MANY_ROOT_FIELDS", "TOO_MANY_SELECTIONS", "TOO_MANY_ALIASES"],
  ),
  documentAttack(
    "chained fragments, 30 levels under one field",
    () => ({
      doc: `query { viewer { ...V30 } }\nfragment V0 on Viewer { id }\n${Array.from({ length: 30 }, (_, i) => `fragment V${i + 1} on Viewer { ...V${i} ...V${i} }`).join("\n")}`,
    }),
    [400],
    ["TOO_MANY_SELECTIONS"],
  ),
  documentAttack(
    "chained login mutations, 30 levels",
    () => ({ doc: chainedFragments(30, "mutation", "Mutation", `login(email: "x@y.z", password: "p") { token }`), auth: {} }),
    [400],
    ["TOO_MANY_ROOT_FIELDS"],
  ),
  documentAttack(
    "fragment cycle",
    () => ({ doc: `query { ...A } fragment A on Query { viewer { id } ...B } fragment B on Query { ...A }` }),
    [400],
    ["FRAGMENT_CYCLE"],
  ),
  documentAttack(
    "1,000 aliases of one field",
    () => ({ doc: aliases("labels", 1000) }),
    [400, 413],
    ["TOO_MANY_ALIASES", "QUERY_TOO_LARGE", "QUERY_TOO_MANY_TOKENS"],
  ),
  documentAttack("31 aliases", () => ({ doc: aliases("labels", 31) }), [400], ["TOO_MANY_ALIASES"]),
  documentAttack(
    "negative page size with 25 aliased roots",
    () => ({
      doc: `{ a: studies(first: -100000000) { totalCount } ${Array.from({ length: 25 }, (_, i) => `s${i}: studies(first: 1) { totalCount }`).join(" ")} }`,
    }),
    [400],
    ["BAD_USER_INPUT"],
  ),
  documentAttack(
    "huge page size through a variable",
    () => ({ doc: `query($n: Int) { patients(first: $n) { totalCount } }`, vars: { n: 2_000_000_000 } }),
    [400],
    ["BAD_USER_INPUT"],
  ),
  documentAttack(
    "page size past 32 bits",
    () => ({ doc: `{ studies(first: 99999999999) { totalCount } }` }),
    [400],
    ["BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"],
  ),
  documentAttack("nesting 16 levels deep", () => ({ doc: deep(3) }), [400], ["QUERY_TOO_DEEP"]),
  documentAttack(
    "estimated cost over budget",
    () => ({
      doc: `{ patients(first: 100) { edges { node { studies(first: 100) { edges { node { analyses { id } images { id } } } } } } } }`,
    }),
    [400],
    ["QUERY_TOO_COSTLY"],
  ),
  documentAttack("21 root fields", () => ({ doc: aliases("viewer { id }", 21) }), [400], ["TOO_MANY_ROOT_FIELDS"]),
  documentAttack("200 KB document", () => ({ doc: `{ viewer { id } }${" ".repeat(200_000)}# padding` }), [413], ["QUERY_TOO_LARGE"]),
  documentAttack(
    "introspection",
    () => ({ doc: `{ __schema { types { name fields { name } } } }` }),
    [400],
    ["GRAPHQL_VALIDATION_FAILED", "INTROSPECTION_DISABLED"],
  ),
  documentAttack(
    "field typo fishing for suggestions",
    () => ({ doc: `{ studiez { totalCount } pateint(id: "1") { id } }` }),
    [400],
    ["GRAPHQL_VALIDATION_FAILED"],
  ),
  documentAttack(
    "enum typo fishing for suggestions",
    () => ({ doc: `query($s: StudyStatus) { studies(filter: { status: $s }) { totalCount } }`, vars: { s: "REVIEWD" } }),
    [400],
    ["BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"],
  ),
  batchedAndBigBodies(),
];

/**
 * 50 operations in one body, and an 8 MB JSON body. Both bodies are built once, before the bystander starts: built
 * in run(), the 8 MB string and its encoding stalled this process (which also times the bystander) on every
 * repetition, and the bystander's p95 crossed 500 ms in 2 of 3 runs while the gateway refused each body from its
 * length header.
 */
function batchedAndBigBodies(): Attack {
  let bodies: { batch: Uint8Array<ArrayBuffer>; big: Uint8Array<ArrayBuffer> } | undefined;
  const build = () => {
    const enc = new TextEncoder();
    const batch = Array.from({ length: 50 }, () => ({ query: `{ studies(first: 100) { totalCount } }` }));
    const big = { query: `{ viewer { id } }`, variables: { junk: "x".repeat(8 * 1024 * 1024) } };
    return { batch: enc.encode(JSON.stringify(batch)), big: enc.encode(JSON.stringify(big)) };
  };
  return {
    name: "batched request bodies and an 8 MB JSON body",
    family: "graphql",
    repeat: 2,
    prepare() {
      bodies ??= build();
    },
    async run({ baseUrl, world, cfg }) {
      bodies ??= build();
      const post = (body: Uint8Array<ArrayBuffer>) =>
        request(
          `${baseUrl}/graphql`,
          { method: "POST", headers: { "content-type": "application/json", ...world.a.RADIOLOGIST }, body },
          cfg.deadlineMs,
        );
      const batch = await post(bodies.batch);
      const big = await post(bodies.big);
      return [
        seen("50 operations in one body", batch, batch.status === 400),
        seen("8 MB body", big, big.status === 413 || big.status === 400),
      ];
    },
  };
}
