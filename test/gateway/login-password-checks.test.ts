// Password checks run one at a time per gateway: a burst of them on every libuv thread starved the event loop
// on a 2-core machine (the adversarial suite's login burst: a bystander's query took 0.7–1 s).
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { syncBuiltinESMExports } from "node:module";

// Count scrypt runs in flight in this process (the gateway under test runs in it) before anything imports scrypt.
let inFlight = 0;
let mostInFlight = 0;
const scrypt = crypto.scrypt;
(crypto as { scrypt: unknown }).scrypt = (...args: unknown[]) => {
  inFlight++;
  mostInFlight = Math.max(mostInFlight, inFlight);
  const callback = args.pop() as (...r: unknown[]) => void;
  return (scrypt as (...a: unknown[]) => void)(...args, (...result: unknown[]) => {
    inFlight--;
    callback(...result);
  });
};
syncBuiltinESMExports();
const { startGatewayFixture } = await import("./fixture.ts");

const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token errors { code } } }`;

test("parallel logins of different accounts from different addresses check one password at a time", { timeout: 300_000 }, async (t) => {
  const fx = await startGatewayFixture(t, { env: { GATEWAY_TRUST_PROXY: "true" } });
  const users = [...fx.tenantA.users, ...fx.tenantB.users].filter((u) => u.role !== "WORKER");
  mostInFlight = 0;
  const answers = await Promise.all(
    users.map((u, i) =>
      fx.gql(LOGIN, { e: u.email, p: i % 2 ? u.password : "wrong-password" }, { "x-forwarded-for": `198.51.100.${i + 1}` }),
    ),
  );
  answers.forEach((a, i) => {
    const login = a.body.data?.login;
    if (i % 2) assert.ok(login?.token, JSON.stringify(a.body));
    else assert.equal(login?.errors[0]?.code, "VALIDATION");
  });
  assert.ok(users.length >= 8);
  assert.equal(mostInFlight, 1, `${mostInFlight} password checks ran at once`);
});
