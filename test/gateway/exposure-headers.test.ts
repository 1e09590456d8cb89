// Issue 14, findings 8 (fleet part) and 10 (headers): only platform operators read worker hosts, pids (in worker
// ids) and model metrics; every HTTP response carries the security headers, HSTS only on HTTPS.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startGatewayFixture, type Auth } from "./fixture.ts";
import { contentSecurityPolicy } from "../../services/gateway/src/http/security-headers.ts";

const FLEET = `{ workers { id host status } models { version metrics workers { id host } } }`;

test("fleet details are for operators; other roles and WORKER keys get pseudonyms and no metrics", { timeout: 300_000 }, async (t) => {
  const fx = await startGatewayFixture(t);
  await fx.ctx.repos.modelVersions.upsert({
    name: "gkmvlp",
    version: "9.9.9",
    bundleSha256: "0f".repeat(32),
    manifest: {},
    metrics: { auc: 0.81 },
    status: "ACTIVE",
  });
  await fx.ctx.repos.heartbeats.beat({
    workerId: "analysis-ward7-host-4242-abcdef",
    host: "ward7-host",
    bundle: "gkmvlp 9.9.9",
    bundleSha256: "0f".repeat(32),
    status: "READY",
    inFlight: 0,
    processed: 3,
    failed: 0,
  });
  const { key } = await fx.ctx.repos.apiKeys.create({ tenantId: fx.tenantA.tenantId, name: "worker key", role: "WORKER" });
  const callers: Record<string, Auth> = {
    ADMIN: fx.a.ADMIN,
    RADIOLOGIST: fx.a.RADIOLOGIST,
    CLINICIAN: fx.a.CLINICIAN,
    AUDITOR: fx.a.AUDITOR,
    WORKER: { "x-api-key": key },
    "CLINICIAN API key": fx.apiKeyA,
  };

  await t.test("OPERATOR sees hosts, worker ids and metrics", async () => {
    const r = await fx.gql(FLEET, {}, await fx.operator());
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body));
    assert.deepEqual(r.body.data.workers, [{ id: "analysis-ward7-host-4242-abcdef", host: "ward7-host", status: "READY" }]);
    assert.deepEqual(r.body.data.models[0].metrics, { auc: 0.81 });
    assert.equal(r.body.data.models[0].workers[0].host, "ward7-host");
  });

  for (const [role, auth] of Object.entries(callers)) {
    await t.test(`${role} gets neither host, pid nor metrics`, async () => {
      const r = await fx.gql(FLEET, {}, auth);
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body));
      const text = JSON.stringify(r.body.data);
      assert.doesNotMatch(text, /ward7|4242|abcdef|0\.81/);
      const [w] = r.body.data.workers;
      assert.match(w.id, /^worker-[0-9a-f]{12}$/);
      assert.equal(w.host, w.id, "one stable pseudonym for the worker");
      assert.equal(w.status, "READY", "status stays visible (the dashboard's health)");
      assert.equal(r.body.data.models[0].metrics, null);
      assert.equal(r.body.data.models[0].workers[0].id, w.id);
    });
  }

  await t.test("the pseudonym is stable across requests and roles", async () => {
    const a = await fx.gql(`{ workers { id } }`, {}, fx.a.CLINICIAN);
    const b = await fx.gql(`{ workers { id } }`, {}, fx.a.AUDITOR);
    assert.equal(a.body.data.workers[0].id, b.body.data.workers[0].id);
  });
});

test("security headers on every response; HSTS only over HTTPS", { timeout: 300_000 }, async (t) => {
  const consoleDir = mkdtempSync(path.join(tmpdir(), "gw-console-"));
  t.after(() => rmSync(consoleDir, { recursive: true, force: true }));
  mkdirSync(path.join(consoleDir, "assets"));
  writeFileSync(path.join(consoleDir, "index.html"), "<!doctype html><title>console</title>");
  const fx = await startGatewayFixture(t, { env: { CONSOLE_DIR: consoleDir, GATEWAY_TRUST_PROXY: "true" } });
  const base = fx.gateway.url;
  const responses: [string, Response][] = [
    ["healthz", await fetch(`${base}/healthz`)],
    ["readyz", await fetch(`${base}/readyz`)],
    [
      "graphql ok",
      await fetch(`${base}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", ...fx.a.CLINICIAN },
        body: JSON.stringify({ query: "{ viewer { id } }" }),
      }),
    ],
    [
      "graphql refused",
      await fetch(`${base}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ studies { totalCount } }" }),
      }),
    ],
    ["upload 401", await fetch(`${base}/upload`, { method: "POST", body: "x" })],
    ["image 401", await fetch(`${base}/images/nope`)],
    ["console", await fetch(`${base}/console/`)],
    ["404", await fetch(`${base}/nothing-here`)],
    ["405", await fetch(`${base}/graphql`, { method: "DELETE" })],
  ];
  for (const [what, r] of responses) {
    await r.arrayBuffer();
    const csp = r.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'none'/, what);
    assert.match(csp, /script-src 'self'(;|$)/, `${what}: no inline or eval scripts`);
    assert.match(csp, /frame-ancestors 'none'/, what);
    assert.match(csp, /connect-src 'self' ws:\/\/127\.0\.0\.1:\d+ wss:\/\/127\.0\.0\.1:\d+/, what);
    assert.equal(r.headers.get("x-content-type-options"), "nosniff", what);
    assert.equal(r.headers.get("referrer-policy"), "no-referrer", what);
    assert.equal(r.headers.get("x-frame-options"), "DENY", what);
    assert.equal(r.headers.get("strict-transport-security"), null, `${what}: no HSTS over plain HTTP`);
  }
  const proxied = await fetch(`${base}/healthz`, { headers: { "x-forwarded-proto": "https" } });
  assert.match(proxied.headers.get("strict-transport-security") ?? "", /^max-age=31536000; includeSubDomains$/);
  // the Host header is echoed into connect-src only when it is a plain host (fetch cannot send a bad one)
  assert.doesNotMatch(contentSecurityPolicy("evil.example; script-src *"), /evil|script-src \*/);
  assert.match(contentSecurityPolicy("[::1]:4000"), /ws:\/\/\[::1\]:4000/);
});

test("HSTS is not sent on a forwarded-proto header the gateway was not told to trust", { timeout: 300_000 }, async (t) => {
  const fx = await startGatewayFixture(t);
  const r = await fetch(`${fx.gateway.url}/healthz`, { headers: { "x-forwarded-proto": "https" } });
  assert.equal(r.headers.get("strict-transport-security"), null);
  assert.equal(r.headers.get("x-content-type-options"), "nosniff");
});
