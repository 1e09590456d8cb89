import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { BundleError } from "../../workers/analysis/src/bundle/errors.ts";
import { loadBundle, type Bundle } from "../../workers/analysis/src/bundle/load.ts";
import { bundleDir } from "./golden-bundle.ts";

const copies: string[] = [];
function copyBundle(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "gkmvlp-bundle-"));
  cpSync(bundleDir(), dir, { recursive: true });
  copies.push(dir);
  return dir;
}
const editManifest = (dir: string, edit: (m: any) => void) => {
  const p = path.join(dir, "manifest.json");
  const m = JSON.parse(readFileSync(p, "utf8"));
  edit(m);
  writeFileSync(p, JSON.stringify(m));
};
const refusedWith = (code: string, text?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof BundleError, `expected BundleError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (text) assert.match(e.message, text);
  return true;
};

describe("loadBundle", () => {
  let bundle: Bundle;
  before(async () => {
    bundle = await loadBundle(bundleDir());
  });
  after(async () => {
    await bundle?.release();
    for (const d of copies) rmSync(d, { recursive: true, force: true });
  });

  it("loads every graph the tasks need, with the manifest hash as bundle id", () => {
    const manifestBytes = readFileSync(path.join(bundleDir(), "manifest.json"));
    assert.equal(bundle.bundleHash, createHash("sha256").update(manifestBytes).digest("hex"));
    for (const g of ["image_encoder", "classification_head", "localization_head", "report_decoder_step", "vqa_head"] as const) {
      assert.ok(bundle.sessions[g], `session ${g}`);
    }
    assert.deepEqual(bundle.vocab.slice(0, 5), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]);
    assert.equal(bundle.alive(), true);
  });

  it("reports itself not alive after release, and refuses runs", async () => {
    const b = await loadBundle(bundleDir());
    await b.release();
    assert.equal(b.alive(), false);
    await assert.rejects(b.sessions.classification_head!.run({}), /session thread is gone/);
  });

  it("refuses a bundle whose graph was modified after export", async () => {
    const dir = copyBundle();
    const file = path.join(dir, "classification_head.onnx");
    const bytes = readFileSync(file);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    writeFileSync(file, bytes);
    await assert.rejects(
      loadBundle(dir),
      refusedWith("BUNDLE_HASH_MISMATCH", /classification_head\.onnx: sha256 [0-9a-f]{64} != manifest/),
    );
  });

  it("refuses a bundle whose vocabulary was modified", async () => {
    const dir = copyBundle();
    writeFileSync(path.join(dir, "vocab.txt"), `${readFileSync(path.join(dir, "vocab.txt"), "utf8")}extra\n`);
    await assert.rejects(loadBundle(dir), refusedWith("BUNDLE_HASH_MISMATCH", /vocab\.txt/));
  });

  it("refuses an incomplete bundle (a listed file is missing)", async () => {
    const dir = copyBundle();
    unlinkSync(path.join(dir, "vqa_head.onnx"));
    await assert.rejects(loadBundle(dir), refusedWith("BUNDLE_INCOMPLETE", /vqa_head\.onnx cannot be read/));
  });

  it("refuses a folder without manifest.json", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "gkmvlp-empty-"));
    copies.push(dir);
    await assert.rejects(loadBundle(dir), refusedWith("BUNDLE_NOT_FOUND"));
  });

  it("refuses a manifest whose graph I/O names do not match the ONNX graph", async () => {
    const dir = copyBundle();
    editManifest(dir, (m) => {
      const extra = { name: "extra_input", dtype: "float32", shape: ["batch", 4] };
      m.graphs.classification_head.inputs.push(extra);
    });
    await assert.rejects(loadBundle(dir), refusedWith("GRAPH_MISMATCH", /classification_head.*extra_input/s));
  });

  it("refuses a manifest whose answer list does not match the VQA graph output size", async () => {
    const dir = copyBundle();
    editManifest(dir, (m) => {
      m.answers.push("an answer the graph cannot produce");
    });
    await assert.rejects(loadBundle(dir), refusedWith("GRAPH_MISMATCH", /answer_logits\.shape\[1\]/));
  });

  it("refuses an unavailable execution provider with a clear error", async () => {
    // This machine's onnxruntime-node has no CUDA provider library (its install script was skipped).
    await assert.rejects(
      loadBundle(bundleDir(), { executionProviders: ["cuda"] }),
      refusedWith("EXECUTION_PROVIDER_UNAVAILABLE", /\[cuda\] unavailable/),
    );
  });
});
