// The worker's image loader (workers/analysis/src/loop/images.ts) on a real disk store and the real engine: it reads
// the analysis copy (binary PGM) when the image row names one, and the display PNG when it does not or the copy is
// missing. Both give the encoder the same tensor: features are compared exactly (tolerance 0, same ONNX Runtime
// session options on the same input).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { ImageStore, LocalDiskImageStore } from "../../lib/images/index.ts";
import { ingestImage } from "../../lib/images/index.ts";
import { loadBundle, type Bundle } from "../../workers/analysis/src/bundle/load.ts";
import { createEngine, type Engine } from "../../workers/analysis/src/inference/engine.ts";
import type { EncodedImage } from "../../workers/analysis/src/inference/types.ts";
import { createImageLoader, type ImageRow } from "../../workers/analysis/src/loop/images.ts";
import { goldenImage, resolveBundleDir, tempStore } from "./harness.ts";

const bundleDir = resolveBundleDir();
let bundle: Bundle;
const engines: Engine[] = [];
before(async () => {
  bundle = await loadBundle(bundleDir);
});
after(async () => {
  for (const e of engines) await e.close();
  await bundle?.release();
});
// one engine per read: an engine caches features by the image's key, which is the same on both paths
const freshEngine = () => {
  const engine = createEngine(bundle, { preprocessThreads: 1 });
  engines.push(engine);
  return engine;
};

/** The real store, with the keys read recorded. */
function recording(store: LocalDiskImageStore): ImageStore & { reads: string[] } {
  const reads: string[] = [];
  const get = (key: string) => {
    reads.push(key);
    return store.get(key);
  };
  return { ...store, reads, get };
}

async function ingested(store: LocalDiskImageStore): Promise<ImageRow & { analysisKey: string }> {
  const record = await ingestImage(goldenImage(bundleDir, 0), store);
  assert.ok(record.analysisKey, "the ingest stored an analysis copy");
  return {
    id: "img-1",
    sha256: record.sha256,
    storageKey: record.originalKey,
    derivedPngKey: record.displayKey,
    analysisKey: record.analysisKey,
  };
}

async function load(store: ImageStore, row: ImageRow): Promise<EncodedImage> {
  const loader = createImageLoader({ images: { findById: async () => row }, store, engine: freshEngine() });
  return (await loader.get("tenant-1", row.id, row)).encoded;
}

function assertSameFeatures(a: EncodedImage, b: EncodedImage) {
  assert.equal(a.key, b.key, "same cache key on both paths (the display PNG's sha256)");
  assert.deepEqual(a.letterbox, b.letterbox);
  assert.deepEqual(Object.keys(a.features).sort(), Object.keys(b.features).sort());
  for (const name of Object.keys(a.features)) {
    const [x, y] = [a.features[name]!, b.features[name]!];
    assert.deepEqual(x.dims, y.dims, `${name}: dims`);
    assert.deepEqual(Array.from(x.data as ArrayLike<number>), Array.from(y.data as ArrayLike<number>), `${name}: values`);
  }
}

test("the worker reads the analysis copy when the image has one, and the encoder's features equal those from the display PNG", async (t) => {
  const disk = tempStore(t);
  const row = await ingested(disk);
  const withCopy = recording(disk);
  const fromCopy = await load(withCopy, row);
  assert.deepEqual(withCopy.reads, [row.analysisKey], "only the analysis copy is read");
  const without = recording(disk);
  const fromPng = await load(without, { ...row, analysisKey: null });
  assert.deepEqual(without.reads, [row.derivedPngKey], "an image without a copy (ingested before them) reads the display PNG");
  assertSameFeatures(fromCopy, fromPng);
});

test("a missing analysis copy falls back to the display PNG instead of failing the analysis", async (t) => {
  const disk = tempStore(t);
  const row = await ingested(disk);
  assert.equal(await disk.delete(row.analysisKey), true);
  const store = recording(disk);
  const encoded = await load(store, row);
  assert.deepEqual(store.reads, [row.analysisKey, row.derivedPngKey]);
  assertSameFeatures(encoded, await load(disk, { ...row, analysisKey: null }));
});
