// Decoding off the event loop (issue 14, finding 5): a bounded pool of worker threads with a memory cap, a
// pixel budget derived from that cap and checked from the header before any pixel is inflated, back-pressure
// when the queue is full, and recovery when a decoder dies.
import { test } from "node:test";
import assert from "node:assert/strict";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import zlib from "node:zlib";
import {
  createDecodePool,
  createLocalDiskImageStore,
  createWorkerPool,
  decodeImage,
  decodeMemoryPlan,
  DEFAULT_IMAGE_LIMITS,
  ingestImage,
  type DecodePool,
} from "../../lib/images/index.ts";
import { fixture, ihdr, listFiles, makeDicom, monoImage, pngChunk, PNG_SIGNATURE, tempDir, type DicomElement } from "./helpers.ts";

/** A PNG whose rows are a repeating pattern: small on disk, expensive to decode (pngjs unfilters every byte). */
function patternPng(width: number, height: number, bitDepth: 8 | 16, colorType: 0 | 2 | 6): Buffer {
  const channels = { 0: 1, 2: 3, 6: 4 }[colorType];
  const row = 1 + (width * channels * bitDepth) / 8;
  const raw = Buffer.alloc(row * height);
  for (let i = 0; i < raw.length; i += 7) raw[i] = i & 0xff;
  for (let y = 0; y < height; y++) raw[y * row] = 0;
  return Buffer.concat([
    PNG_SIGNATURE,
    ihdr(width, height, bitDepth, colorType),
    pngChunk("IDAT", zlib.deflateSync(raw, { level: 1 })),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A decompression bomb: 5000×5000 RGBA 16-bit (25 Mpx, inside maxPixels) of zeros, a few hundred KB. */
async function bombPng(): Promise<Buffer> {
  const width = 5000;
  const height = 5000;
  const deflate = zlib.createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on("data", (c: Buffer) => parts.push(c));
  const done = new Promise((resolve) => deflate.on("end", resolve));
  const row = Buffer.alloc(1 + width * 8);
  for (let y = 0; y < height; y++) if (!deflate.write(row)) await new Promise((r) => deflate.once("drain", r));
  deflate.end();
  await done;
  return Buffer.concat([
    PNG_SIGNATURE,
    ihdr(width, height, 16, 6),
    pngChunk("IDAT", Buffer.concat(parts)),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A DICOM whose data set holds a million empty private elements: 8 MB that parse into ~240 MB of JS objects. */
function manyElementsDicom(count = 1_000_000): Buffer {
  const extra: DicomElement[] = [];
  let group = 0x0029;
  let element = 0x1000;
  for (let i = 0; i < count; i++) {
    extra.push({ tag: (group << 16) | element, vr: "LO", value: "" });
    if (++element > 0xffff) {
      element = 0x1000;
      group += 2;
    }
  }
  return makeDicom(monoImage({ rows: 2, columns: 2, bitsAllocated: 8, bitsStored: 8, pixelData: new Uint8Array([1, 2, 3, 4]), extra }));
}

const SLOW = patternPng(3000, 3000, 16, 6); // ~2 s and ~370 MB to decode on the project machine
const MEDIUM = patternPng(2000, 2000, 8, 6);
const SMALL = fixture("nih_00000075_000_gray_256.png");

function pool(t: { after: (fn: () => Promise<void>) => void }, options: Partial<Parameters<typeof createDecodePool>[0]> = {}): DecodePool {
  const p = createDecodePool({ workers: 1, maxQueue: 4, memoryMb: 1024, idleMs: 5000, timeoutMs: 60_000, ...options });
  t.after(() => p.close());
  return p;
}

test("the pixel budget follows from the memory cap", () => {
  const plan = decodeMemoryPlan(1024);
  assert.ok(plan.heapMb >= 32 && plan.heapMb < 1024);
  assert.equal(plan.bufferBytes, (1024 - plan.heapMb) * 1024 * 1024);
  assert.ok(decodeMemoryPlan(512).bufferBytes < plan.bufferBytes);
});

test("a small PNG declaring 5000×5000 RGBA16 is refused from its header by the pixel budget: no worker starts, nothing is stored", async (t) => {
  const bomb = await bombPng();
  assert.ok(bomb.length < 1_000_000, `bomb is ${bomb.length} bytes`);
  const root = tempDir("pool");
  const p = pool(t);
  const started = performance.now();
  await assert.rejects(p.ingest(bomb, createLocalDiskImageStore({ root }), {}, {}), (err: any) => {
    assert.equal(err.code, "DECODE_BUDGET_EXCEEDED");
    assert.equal(err.httpStatus, 422);
    assert.match(err.message, /5000×5000/);
    assert.match(err.message, /memory/i);
    return true;
  });
  assert.ok(performance.now() - started < 1000, "refused without inflating anything");
  assert.equal(p.stats().spawned, 0, "no decoder was started for it");
  assert.deepEqual(listFiles(root), []);
  // The decoder checks the same budget itself (defence in depth): decodeImage refuses before inflating.
  assert.throws(
    () => decodeImage(bomb, { limits: { ...DEFAULT_IMAGE_LIMITS, maxDecodeBytes: decodeMemoryPlan(1024).bufferBytes } }),
    (err: any) => err.code === "DECODE_BUDGET_EXCEEDED",
  );
});

test("the pool gives the same records as in-process ingest, and the event loop keeps turning while it decodes", async (t) => {
  const p = pool(t, { workers: 1 });
  const storeA = createLocalDiskImageStore({ root: tempDir("pool") });
  const storeB = createLocalDiskImageStore({ root: tempDir("pool") });
  for (const bytes of [
    fixture("siim_cr_chest_pa_mono2.dcm"),
    fixture("nema_cr_mono1_10bit_chest.dcm"),
    SMALL,
    fixture("nih_00005224_000_rgba_256.png"),
  ]) {
    const viaPool = await p.ingest(bytes, storeA, {}, { uidKey: "k" });
    const inProcess = await ingestImage(bytes, storeB, {}, { uidKey: "k" });
    assert.deepEqual(viaPool, inProcess);
  }
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const started = performance.now();
  await Promise.all([p.ingest(SLOW, storeA, {}, {}), p.ingest(MEDIUM, storeA, {}, {})]);
  const elapsed = performance.now() - started;
  delay.disable();
  t.diagnostic(
    `decode took ${Math.round(elapsed)} ms; event loop delay max ${Math.round(delay.max / 1e6)} ms, p99 ${Math.round(delay.percentile(99) / 1e6)} ms`,
  );
  assert.ok(elapsed > 500, "the work was substantial");
  // Generous: on the main thread the same decode blocks the loop for its whole duration.
  assert.ok(delay.max / 1e6 < Math.max(300, elapsed / 3), `event loop blocked for ${Math.round(delay.max / 1e6)} ms`);
});

test("when every decoder is busy and the queue is full, the next upload is refused at once with 429 and a retry time", async (t) => {
  const p = pool(t, { workers: 1, maxQueue: 0 });
  const store = createLocalDiskImageStore({ root: tempDir("pool") });
  const first = p.ingest(SLOW, store, {}, {});
  await assert.rejects(p.ingest(SMALL, store, {}, {}), (err: any) => {
    assert.equal(err.code, "UPLOADS_BUSY");
    assert.equal(err.httpStatus, 429);
    assert.equal(err.retriable, true);
    assert.ok(Number.isInteger(err.details.retryAfterSeconds) && err.details.retryAfterSeconds >= 1);
    return true;
  });
  const record = await first;
  assert.equal(record.width, 3000);
  assert.equal((await p.ingest(SMALL, store, {}, {})).width, 256, "accepted again once there is room");
});

test("a header with more elements (or chunks) than any radiograph is refused before it is parsed into objects", async (t) => {
  const p = pool(t, { workers: 1 });
  const store = createLocalDiskImageStore({ root: tempDir("pool") });
  await assert.rejects(p.ingest(manyElementsDicom(1_000_000), store, {}, {}), (err: any) => {
    assert.equal(err.code, "HEADER_TOO_LARGE");
    assert.equal(err.httpStatus, 422);
    return true;
  });
  const chunks = Array.from({ length: 100_001 }, () => pngChunk("tEXt", Buffer.alloc(0)));
  const png = patternPng(8, 8, 8, 0);
  const withChunks = Buffer.concat([png.subarray(0, 33), ...chunks, png.subarray(33)]);
  assert.throws(
    () => decodeImage(withChunks, { limits: DEFAULT_IMAGE_LIMITS }),
    (err: any) => err.code === "HEADER_TOO_LARGE",
  );
  assert.equal(p.stats().crashed, 0);
});

for (const isolation of ["thread", "process"] as const) {
  test(`a decoder (${isolation}) that dies from its memory cap is replaced: that upload gets DECODER_OUT_OF_MEMORY, the next one decodes`, async (t) => {
    const p = pool(t, { workers: 1, memoryMb: 128, isolation });
    const store = createLocalDiskImageStore({ root: tempDir("pool") });
    // Under the header guard (200,000), still ~45 MB of parser objects: more than a 32 MB heap share.
    await assert.rejects(p.ingest(manyElementsDicom(190_000), store, {}, {}), (err: any) => {
      assert.equal(err.code, "DECODER_OUT_OF_MEMORY");
      assert.equal(err.httpStatus, 422);
      assert.match(err.message, /memory/i);
      return true;
    });
    assert.equal(p.stats().crashed, 1);
    const record = await p.ingest(fixture("siim_cr_chest_pa_mono2.dcm"), store, {}, {});
    assert.equal(record.width, 1024);
    assert.equal(p.stats().workers, 1, "a fresh decoder took over");
    assert.equal(process.memoryUsage().rss > 0, true, "this process is alive");
  });
}

test("a decoder killed mid-decode (the watchdog) fails that upload with a retriable error and the pool recovers", async (t) => {
  const p = pool(t, { workers: 1, timeoutMs: 150 });
  const store = createLocalDiskImageStore({ root: tempDir("pool") });
  await assert.rejects(p.ingest(SLOW, store, {}, {}), (err: any) => {
    assert.equal(err.code, "DECODER_UNAVAILABLE");
    assert.equal(err.httpStatus, 503);
    assert.equal(err.retriable, true);
    assert.match(err.message, /150 ms/);
    return true;
  });
  assert.equal((await p.ingest(SMALL, store, {}, {})).width, 256);
  assert.equal(p.stats().crashed, 1);
});

test("generic pool: a worker that exits mid-task fails only that task; queued tasks run on a replacement", async (t) => {
  const script = `
    const { parentPort } = require('node:worker_threads');
    parentPort.on('message', (m) => {
      if (m.payload === 'exit') process.exit(7);
      setTimeout(() => parentPort.postMessage({ id: m.id, ok: true, result: m.payload * 2 }), 20);
    });`;
  const workers = createWorkerPool<unknown, number>({
    spawn: () => new Worker(script, { eval: true }),
    size: 1,
    maxQueue: 5,
    idleMs: 1000,
    taskTimeoutMs: 5000,
  });
  t.after(() => workers.close());
  const dying = workers.run("exit");
  const queued = [workers.run(1), workers.run(2)];
  await assert.rejects(dying, (err: any) => err.code === "DECODER_UNAVAILABLE" && /exit code 7/.test(err.message));
  assert.deepEqual(await Promise.all(queued), [2, 4]);
  assert.equal(workers.stats().crashed, 1);
  assert.equal(workers.stats().spawned, 2);
});

test("after a burst the idle decoders stop and the process RSS returns near its baseline", async (t) => {
  const p = pool(t, { workers: 2, maxQueue: 8, idleMs: 300 });
  const store = createLocalDiskImageStore({ root: tempDir("pool") });
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  await Promise.all([SLOW, MEDIUM, SLOW, MEDIUM].map((bytes) => p.ingest(bytes, store, {}, {})));
  clearInterval(sampler);
  assert.ok(p.stats().workers >= 1);
  const deadline = Date.now() + 10_000;
  while (p.stats().workers > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(p.stats().workers, 0, "idle decoders stopped");
  await new Promise((r) => setTimeout(r, 200));
  const after = process.memoryUsage.rss();
  const mb = (n: number) => Math.round(n / 1e6);
  t.diagnostic(`rss baseline ${mb(baseline)} MB, peak ${mb(peak)} MB, after ${mb(after)} MB`);
  assert.ok(peak - baseline > 150e6, "the burst used memory");
  assert.ok(after - baseline < Math.max(100e6, (peak - baseline) * 0.25), `RSS stayed ${mb(after - baseline)} MB above baseline`);
});
