// Issue 14, finding 7: a password change revokes the user's other sessions, a role change all of the user's
// sessions; both are audited, checked for role and tenant, and the password check is throttled like login.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startGatewayFixture } from "./fixture.ts";

const LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token errors { code } } }";
const CHANGE =
  "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { changed revokedSessions retryAfterSeconds errors { code field } } }";
const SET_ROLE = "mutation($u: ID!, $r: Role!) { setUserRole(userId: $u, role: $r) { userId role revokedSessions errors { code field } } }";
const VIEWER = "{ viewer { id role } }";

test("a new password revokes the user's other sessions, keeps this one, and replaces the old password", async (t) => {
  const fx = await startGatewayFixture(t);
  const rad = fx.tenantA.users.find((u) => u.role === "RADIOLOGIST")!;
  const token = async (password: string) => (await fx.gql(LOGIN, { e: rad.email, p: password })).body.data.login.token as string | null;
  const here = { authorization: `Bearer ${await token(rad.password)}` };
  const elsewhere = { authorization: `Bearer ${await token(rad.password)}` };
  const short = await fx.gql(CHANGE, { c: rad.password, n: "too-short" }, here);
  assert.deepEqual(short.body.data.changePassword.errors, [{ code: "VALIDATION", field: "newPassword" }]);
  const wrong = await fx.gql(CHANGE, { c: "not-my-password", n: "a-brand-new-password" }, here);
  assert.deepEqual(wrong.body.data.changePassword.errors, [{ code: "VALIDATION", field: "currentPassword" }]);
  const ok = await fx.gql(CHANGE, { c: rad.password, n: "a-brand-new-password" }, here);
  assert.equal(ok.body.data.changePassword.changed, true, JSON.stringify(ok.body));
  assert.ok(ok.body.data.changePassword.revokedSessions >= 2, "the other session and the fixture's own");
  assert.equal((await fx.gql(VIEWER, {}, here)).status, 200, "the session that changed it stays valid");
  assert.equal((await fx.gql(VIEWER, {}, elsewhere)).status, 401, "another session of the user is refused");
  assert.equal(await token(rad.password), null, "the old password no longer logs in");
  assert.ok(await token("a-brand-new-password"));
  const audit = await fx.ctx.db.prisma.auditEvent.findMany({ where: { targetId: rad.id, action: { startsWith: "user.password" } } });
  assert.deepEqual(audit.map((a) => a.action).sort(), ["user.password.change", "user.password.change.failed"]);
});

test("wrong current passwords count towards the login lockout", async (t) => {
  const fx = await startGatewayFixture(t, { env: { LOGIN_ACCOUNT_MAX_FAILURES: "3" } });
  let last: any;
  for (let i = 0; i < 4; i++) last = await fx.gql(CHANGE, { c: `wrong-${i}`, n: "a-brand-new-password" }, fx.a.CLINICIAN);
  assert.equal(last.body.data.changePassword.errors[0].code, "RATE_LIMITED");
  assert.ok(last.body.data.changePassword.retryAfterSeconds >= 1);
});

test("an admin's role change revokes the user's sessions; tenants, own role and platform roles are refused", async (t) => {
  const fx = await startGatewayFixture(t);
  const clinician = fx.tenantA.users.find((u) => u.role === "CLINICIAN")!;
  const adminA = fx.tenantA.users.find((u) => u.role === "ADMIN")!;
  const userOfB = fx.tenantB.users.find((u) => u.role === "CLINICIAN")!;
  const changed = await fx.gql(SET_ROLE, { u: clinician.id, r: "AUDITOR" }, fx.a.ADMIN);
  assert.deepEqual(changed.body.data.setUserRole, { userId: clinician.id, role: "AUDITOR", revokedSessions: 1, errors: [] });
  assert.equal((await fx.gql(VIEWER, {}, fx.a.CLINICIAN)).status, 401, "the old token is refused");
  const again = await fx.gql(LOGIN, { e: clinician.email, p: clinician.password });
  const viewer = await fx.gql(VIEWER, {}, { authorization: `Bearer ${again.body.data.login.token}` });
  assert.equal(viewer.body.data.viewer.role, "AUDITOR");
  const audit = await fx.ctx.db.prisma.auditEvent.findFirst({ where: { targetId: clinician.id, action: "user.role.change" } });
  assert.deepEqual(audit?.details, { from: "CLINICIAN", to: "AUDITOR", revokedSessions: 1 });

  const errorsOf = async (u: string, r: string, auth = fx.a.ADMIN) => (await fx.gql(SET_ROLE, { u, r }, auth)).body.data.setUserRole.errors;
  assert.deepEqual(await errorsOf(userOfB.id, "AUDITOR"), [{ code: "NOT_FOUND", field: "userId" }], "another tenant's user");
  assert.deepEqual(await errorsOf(clinician.id, "OPERATOR"), [{ code: "FORBIDDEN", field: "role" }]);
  assert.deepEqual(await errorsOf(adminA.id, "AUDITOR"), [{ code: "VALIDATION", field: "userId" }], "own role");
  const byRadiologist = await fx.gql(SET_ROLE, { u: clinician.id, r: "CLINICIAN" }, fx.a.RADIOLOGIST);
  assert.equal(byRadiologist.body.errors?.[0]?.extensions?.code, "FORBIDDEN");
});
