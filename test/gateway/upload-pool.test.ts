// Issue 14, finding 5: uploads within the limits stalled everyone (a 310 KB PNG cost ~1.5 GB and 11 s on the
// event loop). Decoding now runs in a bounded pool of worker threads with a memory cap; these tests drive the
// real gateway over HTTP.
import { test } from "node:test";
import assert from "node:assert/strict";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { readFileSync } from "node:fs";
import { startGatewayFixture, DICOM_DIR } from "./fixture.ts";
import { loadGatewayConfig } from "../../services/gateway/src/config.ts";
import { ConfigError } from "../../lib/errors/index.ts";
import { bombPng as patternPng, manyElementsDicom } from "../images/hostile.ts";

test("upload decoder settings are validated by the config module", () => {
  const base = { DATABASE_URL: "postgresql://u@localhost:5432/db", KAFKA_BROKERS: "localhost:9092", AUTH_TOKEN_SECRET: "x".repeat(32) };
  const config = loadGatewayConfig(base);
  assert.ok(config.upload.decode.workers >= 1);
  assert.ok(config.upload.decode.memoryMb >= 128);
  assert.ok(config.upload.decode.queue >= 0);
  assert.throws(() => loadGatewayConfig({ ...base, UPLOAD_DECODE_MEMORY_MB: "16" }), ConfigError);
  assert.throws(() => loadGatewayConfig({ ...base, UPLOAD_DECODE_WORKERS: "-1" }), ConfigError);
  assert.throws(() => loadGatewayConfig({ ...base, UPLOAD_DECODE_QUEUE: "lots" }), ConfigError);
});

test("uploads decode off the event loop, within a memory cap, with back-pressure", { timeout: 600_000 }, async (t) => {
  const fx = await startGatewayFixture(t, {
    env: {
      UPLOAD_DECODE_WORKERS: "1",
      UPLOAD_DECODE_QUEUE: "2",
      UPLOAD_DECODE_MEMORY_MB: "512",
      UPLOAD_MAX_WIDTH: "8192",
      UPLOAD_MAX_HEIGHT: "8192",
    },
  });
  const auth = fx.a.CLINICIAN;
  const admitted = () => fx.logs.filter((l) => l.msg === "upload admitted").length;
  const waitForAdmitted = async (n: number) => {
    const deadline = Date.now() + 20_000;
    while (admitted() < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.ok(admitted() >= n, `expected ${n} admitted uploads, saw ${admitted()}`);
  };

  await t.test("a small PNG declaring a large image (inside the pixel limits) is refused from its header by the pixel budget", async () => {
    const bomb = patternPng(4000, 4000, 16); // 16 Mpx RGBA16: ~700 MB to decode with pngjs
    assert.ok(bomb.length < 4_000_000);
    const files = await fx.storedFiles();
    const r = await fx.upload(bomb, "image/png", auth);
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.equal(r.body.error.code, "DECODE_BUDGET_EXCEEDED");
    assert.match(r.body.error.message, /4000×4000/);
    assert.deepEqual(await fx.storedFiles(), files);
    assert.ok(!fx.logs.some((l) => l.msg === "image uploaded" && l.width === 4000), "never decoded");
  });

  await t.test("while several uploads decode, the event loop stays free and /healthz answers promptly", async () => {
    const uploads = [1, 2, 3].map((seed) => patternPng(2500, 2500, 16, seed)); // ~1.5 s each on the project machine
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = performance.now();
    let lastUploadDone = 0;
    const pending = uploads.map((bytes) =>
      fx.upload(bytes, "image/png", auth).then((r) => {
        lastUploadDone = performance.now();
        return r;
      }),
    );
    await new Promise((r) => setTimeout(r, 300)); // the uploads are on their way (not awaited: they take seconds)
    const health: number[] = [];
    let healthDoneAt = 0;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const h = await fetch(`${fx.gateway.url}/healthz`);
      assert.equal(h.status, 200);
      health.push(performance.now() - t0);
      healthDoneAt = performance.now();
      await new Promise((r) => setTimeout(r, 100));
    }
    const results = await Promise.all(pending);
    delay.disable();
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
    const total = performance.now() - started;
    const maxDelayMs = delay.max / 1e6;
    t.diagnostic(
      `3 uploads in ${Math.round(total)} ms; event loop delay max ${Math.round(maxDelayMs)} ms; /healthz ${health.map(Math.round).join(", ")} ms`,
    );
    assert.ok(healthDoneAt < lastUploadDone, "health checks were answered while the decoders were still busy");
    // On the event loop each of these decodes blocked every request for its whole duration (> 1 s here).
    assert.ok(maxDelayMs < 500, `event loop blocked for ${Math.round(maxDelayMs)} ms`);
    assert.ok(Math.max(...health) < 500, `a health check took ${Math.round(Math.max(...health))} ms`);
  });

  await t.test("when the decoders and their queue are full, an upload gets 429 with Retry-After, and is accepted later", async () => {
    const before = admitted();
    const bodies = [1, 2, 3].map((seed) => patternPng(400, 400, 8, seed));
    const controllers: ReadableStreamDefaultController<Uint8Array>[] = [];
    // Three uploads whose bodies are still arriving hold every slot (1 decoder + a queue of 2).
    const held = bodies.map((bytes) => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new Uint8Array(bytes.subarray(0, 100)));
          controllers.push(controller);
        },
      });
      return fetch(`${fx.gateway.url}/upload`, {
        method: "POST",
        headers: { "content-type": "image/png", ...auth },
        body,
        duplex: "half",
      } as RequestInit);
    });
    await waitForAdmitted(before + 3);

    const refused = await fx.upload(patternPng(64, 64, 8), "image/png", auth);
    assert.equal(refused.status, 429, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, "UPLOADS_BUSY");
    const again = await fetch(`${fx.gateway.url}/upload`, {
      method: "POST",
      headers: { "content-type": "image/png", ...auth },
      body: new Uint8Array(patternPng(64, 64, 8)),
    });
    const retryAfter = again.headers.get("retry-after");
    assert.equal(again.status, 429);
    assert.match(retryAfter ?? "", /^[1-9]\d*$/, "Retry-After in whole seconds");
    await again.arrayBuffer();

    bodies.forEach((bytes, i) => {
      controllers[i]!.enqueue(new Uint8Array(bytes.subarray(100)));
      controllers[i]!.close();
    });
    for (const response of await Promise.all(held)) assert.equal(response.status, 200, await response.text());
    const later = await fx.upload(patternPng(64, 64, 8), "image/png", auth);
    assert.equal(later.status, 200, JSON.stringify(later.body));
  });
});

for (const isolation of ["thread", "process"] as const) {
  test(
    `a decoder (${isolation}) that dies from its memory cap: that upload gets a clear error, nothing is stored, the next upload works`,
    { timeout: 300_000 },
    async (t) => {
      const fx = await startGatewayFixture(t, {
        env: { UPLOAD_DECODE_WORKERS: "1", UPLOAD_DECODE_MEMORY_MB: "128", UPLOAD_DECODE_ISOLATION: isolation },
      });
      const auth = fx.a.CLINICIAN;
      const files = await fx.storedFiles();
      // Under the header guard (200,000 elements) yet ~45 MB of parser objects: more than a 32 MB heap share.
      const r = await fx.upload(manyElementsDicom(190_000), "application/dicom", auth);
      assert.equal(r.status, 422, JSON.stringify(r.body));
      assert.equal(r.body.error.code, "DECODER_OUT_OF_MEMORY");
      assert.match(r.body.error.message, /memory/i);
      assert.deepEqual(await fx.storedFiles(), files);
      assert.ok(
        fx.logs.some((l) => l.msg === "image decoder stopped" && l.reason === "out-of-memory"),
        "the crash is logged",
      );
      const next = await fx.upload(readFileSync(`${DICOM_DIR}/siim_cr_chest_pa_mono2.dcm`), "application/dicom", auth);
      assert.equal(next.status, 200, JSON.stringify(next.body));
      assert.equal(next.body.width, 1024);
      // A header far beyond any radiograph is refused before it is parsed at all.
      const bomb = await fx.upload(manyElementsDicom(1_000_000), "application/dicom", auth);
      assert.equal(bomb.status, 422, JSON.stringify(bomb.body));
      assert.equal(bomb.body.error.code, "HEADER_TOO_LARGE");
    },
  );
}
