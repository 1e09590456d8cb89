// Issue 14, finding 10: TLS natively. With a certificate and key configured the gateway serves HTTPS and WSS on
// its port and nothing in clear text; HSTS is sent; a half or unreadable TLS configuration fails at start.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import WebSocket from "ws";
import { ConfigError } from "../../lib/errors/index.ts";
import { loadGatewayConfig } from "../../services/gateway/src/config.ts";
import { startGatewayFixture } from "./fixture.ts";

function selfSigned(dir: string): { cert: string; key: string; ca: Buffer } {
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { stdio: "ignore" },
  );
  return { cert, key, ca: readFileSync(cert) };
}

function httpsRequest(url: string, ca: Buffer, body?: string): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { method: body ? "POST" : "GET", ca, headers: body ? { "content-type": "application/json" } : {} },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

test("with a certificate and key the gateway answers HTTPS and WSS on its port, sends HSTS, and refuses clear text", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), "gw-tls-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { cert, key, ca } = selfSigned(dir);
  const fx = await startGatewayFixture(t, { env: { GATEWAY_TLS_CERT_FILE: cert, GATEWAY_TLS_KEY_FILE: key }, tlsCa: ca });
  assert.match(fx.gateway.url, /^https:\/\//);
  const health = await httpsRequest(`${fx.gateway.url}/healthz`, ca);
  assert.equal(health.status, 200);
  assert.match(String(health.headers["strict-transport-security"]), /max-age=\d+/);
  // an authenticated GraphQL query through the fixture's client, which trusts the test CA
  const viewer = await fx.gql("{ viewer { email } }", {}, fx.a.RADIOLOGIST);
  assert.equal(viewer.status, 200, JSON.stringify(viewer.body));
  assert.match(viewer.body.data.viewer.email, /@/);
  // graphql-ws over TLS on the same port: the connection is acknowledged with an API key
  const socket = new WebSocket(`${fx.gateway.url.replace("https", "wss")}/graphql`, "graphql-transport-ws", { ca });
  const ack = await new Promise<string>((resolve, reject) => {
    socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: { apiKey: fx.tenantA.apiKey } })));
    socket.on("message", (m) => resolve(JSON.parse(String(m)).type));
    socket.on("error", reject);
  });
  socket.close();
  assert.equal(ack, "connection_ack");
  // clear text on the TLS port gets no HTTP answer
  await assert.rejects(fetch(`${fx.gateway.url.replace("https", "http")}/healthz`, { signal: AbortSignal.timeout(5000) }));
});

test("a half or unreadable TLS configuration fails at start, naming every problem", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "gw-tls-bad-"));
  try {
    const notPem = path.join(dir, "not.pem");
    writeFileSync(notPem, "hello");
    const base = { DATABASE_URL: "postgresql://u@127.0.0.1:5432/d", KAFKA_BROKERS: "127.0.0.1:9092", AUTH_TOKEN_SECRET: "x".repeat(40) };
    assert.throws(
      () => loadGatewayConfig({ ...base, GATEWAY_TLS_CERT_FILE: notPem }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.issues.some((i) => /GATEWAY_TLS_KEY_FILE: required/.test(i)) &&
        e.issues.some((i) => /no PEM certificate/.test(i)),
    );
    assert.throws(
      () => loadGatewayConfig({ ...base, GATEWAY_TLS_CERT_FILE: path.join(dir, "missing.pem"), GATEWAY_TLS_KEY_FILE: notPem }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.issues.some((i) => /cannot read .*missing\.pem \(ENOENT\)/.test(i)) &&
        e.issues.some((i) => /no PEM private key/.test(i)),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
