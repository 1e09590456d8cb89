// Apollo adds no per-field work to our resolvers: its default cache-control plugin hooks every resolved field,
// and Apollo then wraps every resolver of the schema for good (a function call, a promise check and a cache-hint
// object per field of every response) for hints nothing reads (responses are `cache-control: no-store`).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { GraphQLObjectType } from "graphql";
import { buildSchema } from "../../services/gateway/src/graphql/schema.ts";
import { createApollo } from "../../services/gateway/src/graphql/apollo.ts";
import type { GatewayContext } from "../../services/gateway/src/graphql/context.ts";
import { createLogger } from "../../services/gateway/src/logger.ts";
import { TEST_QUERY_LIMITS as LIMITS } from "./query-limits.ts";

test("Apollo leaves the schema's resolvers unwrapped after executing an operation", async () => {
  const schema = buildSchema();
  const fields = (schema.getType("Study") as GraphQLObjectType).getFields();
  const before = { id: fields.id!.resolve, patient: fields.patient!.resolve };
  assert.equal(before.id, undefined, "Study.id uses graphql-js's default resolver");
  const apollo = createApollo(schema, { limits: LIMITS, introspection: false, logger: createLogger("test", "error") });
  await apollo.start();
  try {
    const context = { principal: { tenantId: "t", role: "ADMIN", actor: "user:u" } } as unknown as GatewayContext;
    const res = await apollo.executeOperation({ query: "{ __typename }" }, { contextValue: context });
    assert.equal(res.body.kind, "single");
    if (res.body.kind === "single") assert.equal(res.body.singleResult.data?.__typename, "Query");
    assert.equal(fields.id!.resolve, before.id, "Study.id is not wrapped");
    assert.equal(fields.patient!.resolve, before.patient, "Study.patient is not wrapped");
  } finally {
    await apollo.stop();
  }
});
