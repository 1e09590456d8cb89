// Enums the database and the public API share are spelled identically in prisma/schema.prisma and
// schema.graphql, so nothing translates between them (issue 13: one source per contract).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { buildSchema, GraphQLEnumType } from "graphql";
import * as dbEnums from "../../lib/db/generated/enums.ts";

const root = path.join(import.meta.dirname, "..", "..");
const api = buildSchema(readFileSync(path.join(root, "schema.graphql"), "utf8"));
const SHARED = ["Role", "StudyStatus", "ImageFormat", "AnalysisTask", "AnalysisStatus", "ModelStatus", "ReliabilityLevel", "ReviewAction"];

test("every enum shared by the database and the API has the same values on both sides", () => {
  for (const name of SHARED) {
    const apiType = api.getType(name);
    assert.ok(apiType instanceof GraphQLEnumType, `${name} is an enum in schema.graphql`);
    const db = (dbEnums as Record<string, Record<string, string> | undefined>)[name];
    assert.ok(db, `${name} is an enum in prisma/schema.prisma`);
    assert.deepEqual(
      Object.values(db).sort(),
      apiType
        .getValues()
        .map((v) => v.name)
        .sort(),
      name,
    );
  }
});
