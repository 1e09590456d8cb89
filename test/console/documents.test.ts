// Every GraphQL document the console sends must validate against schema.graphql, so a renamed
// field or a union field clash fails here instead of as a blank view in the browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { buildSchema, parse, validate } from "graphql";
import * as documents from "../../services/console/src/queries.ts";

const schema = buildSchema(readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8"));

test("every console GraphQL document validates against schema.graphql", () => {
  const entries = Object.entries(documents).filter(([, v]) => typeof v === "string");
  assert.ok(entries.length >= 15, `expected the console's documents, found ${entries.length}`);
  for (const [name, source] of entries) {
    const errors = validate(schema, parse(source as string));
    assert.deepEqual(
      errors.map((e) => e.message),
      [],
      `${name} does not validate`,
    );
  }
});

test("a document with a field the schema lacks is rejected by the same check", () => {
  const errors = validate(schema, parse("query { studies { edges { node { notAField } } } }"));
  assert.equal(errors.length, 1);
});
