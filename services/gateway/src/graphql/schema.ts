// The executable schema: the public contract (schema.graphql at the repository root) + the resolvers.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { makeExecutableSchema } from "@graphql-tools/schema";
import type { GraphQLSchema } from "graphql";
import { buildResolvers } from "./resolvers/index.ts";

export const SCHEMA_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../schema.graphql");

export function buildSchema(): GraphQLSchema {
  return makeExecutableSchema({
    typeDefs: readFileSync(SCHEMA_PATH, "utf8"),
    resolvers: buildResolvers() as never,
    resolverValidationOptions: { requireResolversToMatchSchema: "error" },
  });
}
