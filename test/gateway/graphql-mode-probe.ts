// Child process of test/gateway/graphql-mode.test.ts: graphql's mode is fixed per process, so each case runs here.
// argv: production | development | imported-first. Prints one JSON line.
import { createRequire } from "node:module";
import { loadGraphql } from "../../services/gateway/src/graphql/mode.ts";

const mode = process.argv[2];
const out: Record<string, unknown> = { nodeEnvBefore: process.env.NODE_ENV ?? null };
try {
  if (mode === "imported-first") createRequire(import.meta.url)("graphql");
  loadGraphql(mode === "development", process.env);
  out.nodeEnvAfter = process.env.NODE_ENV ?? null;
  const { isObjectType } = await import("graphql");
  // an object that only looks like graphql's class (what a second copy of graphql would hand over)
  const lookalike = { [Symbol.toStringTag]: "GraphQLObjectType" };
  try {
    out.lookalike = isObjectType(lookalike);
  } catch (error) {
    out.lookalike = `threw: ${(error as Error).message.split("\n")[0]}`;
  }
} catch (error) {
  out.error = (error as Error).message;
}
process.stdout.write(`${JSON.stringify(out)}\n`);
