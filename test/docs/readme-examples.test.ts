// The README's GraphQL examples are what hospital developers paste: each must validate against the schema.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { buildSchema, parse, validate } from "graphql";

const schema = buildSchema(readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8"));
const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const blocks = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!);

test("the README has GraphQL examples", () => {
  assert.ok(blocks.length > 0);
});

test("every README GraphQL operation validates against schema.graphql", () => {
  for (const block of blocks) {
    const document = parse(block);
    assert.ok(document.definitions.length > 0);
    const errors = validate(schema, document).map((e) => e.message);
    assert.deepEqual(errors, [], `README example failed validation:\n${block}`);
  }
});
