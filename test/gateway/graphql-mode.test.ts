// graphql-js in production mode unless GRAPHQL_DEVELOPMENT_CHECKS (services/gateway/src/graphql/mode.ts): its
// type tests skip the development check, NODE_ENV reads as before afterwards, and loading it after something else
// imported graphql is refused. Each case in its own process (test/gateway/graphql-mode-probe.ts).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { loadGatewayConfig } from "../../services/gateway/src/config.ts";

function probe(mode: string, env: Record<string, string> = {}): Record<string, unknown> {
  const { NODE_ENV: _drop, ...inherited } = process.env;
  const stdout = execFileSync(process.execPath, ["--import", "tsx", "test/gateway/graphql-mode-probe.ts", mode], {
    env: { ...inherited, ...env },
    encoding: "utf8",
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

test("GRAPHQL_DEVELOPMENT_CHECKS is off unless set", () => {
  const base = { DATABASE_URL: "postgresql://u@127.0.0.1/db", KAFKA_BROKERS: "127.0.0.1:9092", AUTH_TOKEN_SECRET: "x".repeat(32) };
  assert.equal(loadGatewayConfig(base).graphql.developmentChecks, false);
  assert.equal(loadGatewayConfig({ ...base, GRAPHQL_DEVELOPMENT_CHECKS: "true" }).graphql.developmentChecks, true);
});

test("production mode: no development check, and NODE_ENV is left as it was", () => {
  assert.deepEqual(probe("production"), { nodeEnvBefore: null, nodeEnvAfter: null, lookalike: false });
  assert.deepEqual(probe("production", { NODE_ENV: "development" }), {
    nodeEnvBefore: "development",
    nodeEnvAfter: "development",
    lookalike: false,
  });
});

test("development checks on: a lookalike of graphql's classes is reported", () => {
  const out = probe("development");
  assert.match(String(out.lookalike), /^threw: Cannot use GraphQLObjectType .* from another module or realm/);
});

test("graphql imported before its mode was chosen is refused", () => {
  assert.match(String(probe("imported-first").error), /graphql was imported before its mode was chosen/);
});
