// Issue 14, finding 7 (a)-(c): logins are throttled per account and per client address with exponential
// back-off (a typed RATE_LIMITED error with retry-after seconds), an unknown or disabled account costs the
// same password-hash work as a known one (counted: scrypt runs, not timing), and failed logins are audited
// without the attempted password (the e-mail only when the account exists, otherwise a keyed hash).
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { syncBuiltinESMExports } from "node:module";

// Count every scrypt run of this process (password hashing and verification) before anything imports it.
let scryptRuns = 0;
const scrypt = crypto.scrypt;
(crypto as { scrypt: unknown }).scrypt = (...args: unknown[]) => {
  scryptRuns += 1;
  return (scrypt as (...a: unknown[]) => void)(...args);
};
syncBuiltinESMExports();
const { startGatewayFixture } = await import("./fixture.ts");

const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token errors { code message field } } }`;
const LOGIN_RETRY = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token retryAfterSeconds errors { code message field } } }`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("login throttling, equal work for unknown accounts, failed-login audit", { timeout: 300_000 }, async (t) => {
  const fx = await startGatewayFixture(t, {
    env: {
      GATEWAY_TRUST_PROXY: "true",
      LOGIN_ACCOUNT_MAX_FAILURES: "3",
      LOGIN_ADDRESS_MAX_FAILURES: "8",
      LOGIN_LOCKOUT_BASE_SECONDS: "1",
      LOGIN_LOCKOUT_MAX_SECONDS: "4",
    },
  });
  const from = (ip: string) => ({ "x-forwarded-for": ip });
  const attempt = async (email: string, password: string, ip: string, query = LOGIN) => {
    const before = scryptRuns;
    const r = await fx.gql(query, { e: email, p: password }, from(ip));
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body));
    return { ...r.body.data.login, hashes: scryptRuns - before };
  };
  const newUser = async (email: string, password: string) =>
    fx.ctx.repos.users.create({ tenantId: fx.tenantA.tenantId, email, name: email, role: "RADIOLOGIST", password });
  const attempted: string[] = [];
  const wrong = () => {
    const password = `wrong-${attempted.length}-${Math.random().toString(36).slice(2)}`;
    attempted.push(password);
    return password;
  };

  await t.test("unknown, wrong-password and disabled accounts cost one password hash each and read the same", async () => {
    const known = await newUser("known+a@demo.local", "known-password-1");
    const disabled = await newUser("disabled+a@demo.local", "disabled-password-1");
    await fx.ctx.db.prisma.user.update({ where: { id: disabled.id }, data: { disabled: true } });
    const answers = [
      await attempt("known+a@demo.local", wrong(), "192.0.2.1"),
      await attempt("nobody+a@demo.local", wrong(), "192.0.2.2"),
      await attempt("disabled+a@demo.local", "disabled-password-1", "192.0.2.3"),
    ];
    for (const answer of answers) {
      assert.equal(answer.hashes, 1, "exactly one scrypt run, whether the account exists or not");
      assert.equal(answer.token, null);
      assert.deepEqual(answer.errors, answers[0].errors);
    }
    const ok = await attempt("known+a@demo.local", "known-password-1", "192.0.2.4");
    assert.ok(ok.token);
    assert.equal(ok.hashes, 1);
    assert.ok(known.id);
  });

  await t.test(
    "an account is locked after 3 failures, known or not; the lock doubles up to the cap; the right password waits too",
    async () => {
      await newUser("locked+a@demo.local", "locked-password-1");
      const results: Record<string, unknown>[] = [];
      for (const [email, ip] of [
        ["locked+a@demo.local", "198.51.100.1"],
        ["ghost+a@demo.local", "198.51.100.2"],
      ] as const) {
        for (let i = 0; i < 3; i++) assert.equal((await attempt(email, wrong(), ip)).errors[0].code, "VALIDATION");
        const locked = await attempt(email, "locked-password-1", ip, LOGIN_RETRY);
        assert.equal(locked.token, null);
        assert.equal(locked.errors[0].code, "RATE_LIMITED");
        assert.equal(locked.retryAfterSeconds, 1);
        assert.equal(locked.hashes, 0, "a locked attempt does no password work");
        // from another address too: the lock is the account's
        assert.equal((await attempt(email, "locked-password-1", "198.51.100.9", LOGIN_RETRY)).errors[0].code, "RATE_LIMITED");
        results.push({ errors: locked.errors, retryAfterSeconds: locked.retryAfterSeconds });
      }
      assert.deepEqual(results[0], results[1], "a locked unknown account reads like a locked known one");
      const ip = "198.51.100.1";
      // each new failure after a lock expires doubles it: 1 s → 2 s → 4 s → 4 s (the cap)
      for (const [previous, expected] of [
        [1, 2],
        [2, 4],
        [4, 4],
      ] as const) {
        await sleep(previous * 1000 + 150);
        assert.equal((await attempt("locked+a@demo.local", wrong(), ip)).errors[0].code, "VALIDATION");
        const next = await attempt("locked+a@demo.local", wrong(), ip, LOGIN_RETRY);
        assert.equal(next.errors[0].code, "RATE_LIMITED");
        assert.ok(
          next.retryAfterSeconds >= expected - 1 && next.retryAfterSeconds <= expected,
          `retry after ${next.retryAfterSeconds}, expected ~${expected}`,
        );
      }
      await sleep(4100);
      assert.ok((await attempt("locked+a@demo.local", "locked-password-1", "198.51.100.3")).token, "the lock expires");
      assert.equal(
        (await attempt("locked+a@demo.local", wrong(), "198.51.100.3")).errors[0].code,
        "VALIDATION",
        "success resets the account's count",
      );
    },
  );

  await t.test("a burst of 20 parallel wrong logins reaches the password check only 3 times", async () => {
    const before = scryptRuns;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => fx.gql(LOGIN, { e: "burst+a@demo.local", p: wrong() }, from("203.0.113.50"))),
    );
    const codes = answers.map((r) => r.body.data.login.errors[0].code);
    assert.equal(codes.filter((c: string) => c === "VALIDATION").length, 3, codes.join(","));
    assert.equal(codes.filter((c: string) => c === "RATE_LIMITED").length, 17);
    assert.equal(scryptRuns - before, 3);
  });

  await t.test("an address is locked after 8 failures across accounts; other addresses are not", async () => {
    for (let i = 0; i < 8; i++) await attempt(`spray${i}+a@demo.local`, wrong(), "203.0.113.7");
    const user = fx.tenantA.users.find((u) => u.role === "AUDITOR")!;
    const refused = await attempt(user.email, user.password, "203.0.113.7", LOGIN_RETRY);
    assert.equal(refused.errors[0].code, "RATE_LIMITED");
    assert.ok(refused.retryAfterSeconds >= 1);
    assert.ok((await attempt(user.email, user.password, "203.0.113.8")).token);
  });

  await t.test("failed logins are audited: the e-mail only for an existing account, never the password", async () => {
    const known = await fx.ctx.db.prisma.user.findUniqueOrThrow({ where: { email: "known+a@demo.local" } });
    const rows = await fx.ctx.db.prisma.auditEvent.findMany({ where: { action: "user.login.failed" } });
    const mine = rows.filter((r) => r.targetId === known.id);
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.tenantId, fx.tenantA.tenantId, "in the account's tenant");
    assert.equal((mine[0]!.details as { email?: string }).email, "known+a@demo.local");
    const unknown = rows.filter((r) => r.tenantId === null);
    assert.ok(unknown.length >= 3, "unknown accounts are audited in the platform scope");
    for (const row of unknown) {
      const details = row.details as { emailHash?: string; email?: string };
      assert.match(details.emailHash ?? "", /^[0-9a-f]{64}$/);
      assert.equal(details.email, undefined);
    }
    assert.ok(
      rows.some((r) => (r.details as { lockedForSeconds?: number }).lockedForSeconds === 1),
      "the failure that starts a lock says so",
    );
    const everything = JSON.stringify(await fx.ctx.db.prisma.auditEvent.findMany()) + JSON.stringify(fx.logs);
    for (const password of attempted) assert.ok(!everything.includes(password), "no attempted password in the audit trail or the logs");
    for (const email of ["nobody+a@demo.local", "ghost+a@demo.local", "spray3+a@demo.local"]) {
      assert.ok(!everything.includes(email), `the unknown e-mail ${email} is stored only as a hash`);
    }
  });
});
