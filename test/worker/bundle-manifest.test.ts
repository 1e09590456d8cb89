import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BundleError } from "../../workers/analysis/src/bundle/errors.ts";
import { parseManifest } from "../../workers/analysis/src/bundle/manifest.ts";
import { parseVocab } from "../../workers/analysis/src/bundle/vocab.ts";
import { HASH, LABELS, validManifest } from "./manifests.ts";

function invalidDetails(m: unknown): string[] {
  try {
    parseManifest(m);
  } catch (e) {
    assert.ok(e instanceof BundleError, `expected BundleError, got ${String(e)}`);
    assert.equal(e.code, "MANIFEST_INVALID");
    assert.equal(e.retriable, false);
    return [...e.details];
  }
  assert.fail("manifest was accepted");
}

describe("manifest validation", () => {
  it("accepts a complete manifest and fills defaults", () => {
    const m = parseManifest(validManifest());
    assert.equal(m.localization.threshold_mode, "absolute");
    assert.deepEqual(m.labels, LABELS);
  });

  it("names every wrong field at once", () => {
    const m = validManifest();
    m.preprocessing.std = 0;
    m.tokenizer.cls_id = 7;
    m.trained_on = "imagined";
    const details = invalidDetails(m);
    assert.ok(
      details.some((d) => d.startsWith("preprocessing.std:")),
      details.join("\n"),
    );
    assert.ok(
      details.some((d) => d.startsWith("tokenizer.cls_id:")),
      details.join("\n"),
    );
    assert.ok(
      details.some((d) => d.startsWith("trained_on:")),
      details.join("\n"),
    );
  });

  it("refuses an unknown format_version with a message saying which ones it reads", () => {
    const m = validManifest();
    m.format_version = 3;
    const [d] = invalidDetails(m);
    assert.match(d!, /^format_version: .*format_version 1 and 2/);
  });

  it("refuses a sha256 that is not 64 lowercase hex chars", () => {
    const m = validManifest();
    m.files["vocab.txt"] = "ABC";
    assert.ok(invalidDetails(m).some((d) => d.startsWith('files["vocab.txt"]:') && d.includes("sha256")));
  });

  it("refuses file paths that leave the bundle folder", () => {
    const m = validManifest();
    m.files["../../etc/passwd"] = HASH;
    assert.ok(invalidDetails(m).some((d) => d.includes("stay inside the bundle")));
  });

  it("refuses cross-field inconsistencies: thresholds, knowledge, closed answers, graphs, hashes", () => {
    const m = validManifest();
    delete m.thresholds.Cardiomegaly;
    m.knowledge[0].region = "left ear";
    m.closed_answers = ["yes", "maybe"];
    m.graphs.vqa_head.outputs[0].name = "logits";
    delete m.files["dec.onnx"];
    const details = invalidDetails(m);
    const has = (prefix: string, text: string) =>
      assert.ok(
        details.some((d) => d.startsWith(prefix) && d.includes(text)),
        `${prefix} ${text}\n${details.join("\n")}`,
      );
    has("thresholds.Cardiomegaly", "missing threshold");
    has("knowledge[0].region", "left ear");
    has("closed_answers[1]", "maybe");
    has("graphs.vqa_head.outputs", "answer_logits");
    has('files["dec.onnx"]', "report_decoder_step");
  });

  it("requires only the graphs of the listed tasks", () => {
    const m = validManifest();
    m.tasks = ["classification"];
    delete m.graphs.vqa_head;
    delete m.graphs.report_decoder_step;
    assert.doesNotThrow(() => parseManifest(m));
    m.tasks = ["classification", "vqa"];
    assert.ok(invalidDetails(m).some((d) => d.startsWith("graphs.vqa_head") && d.includes("missing graph")));
  });

  it("accepts heatmaps on the patch grid or a refinement of it, and refuses any other grid", () => {
    const withGrid = (grid: number) => {
      const m = validManifest();
      m.localization = { ...m.localization, grid, patch_size: 16 }; // 64 px / 16 = a 4 x 4 patch grid
      m.graphs.localization_head.outputs[0].shape = ["batch", 3, grid, grid];
      return m;
    };
    assert.doesNotThrow(() => parseManifest(withGrid(4)));
    assert.doesNotThrow(() => parseManifest(withGrid(8)));
    for (const bad of [6, 3, 12])
      assert.ok(
        invalidDetails(withGrid(bad)).some((d) => d.startsWith("localization.grid")),
        `grid ${bad}`,
      );
  });

  it("refuses duplicate labels", () => {
    const m = validManifest();
    m.labels = [...LABELS, "Cardiomegaly"];
    assert.ok(invalidDetails(m).some((d) => d.startsWith("labels:") && d.includes("duplicates")));
  });
});

describe("vocab.txt parsing", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  it("reads one token per line like Python (universal newlines, final newline optional)", () => {
    assert.deepEqual(parseVocab(enc("[PAD]\r\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nheart\n")), [
      "[PAD]",
      "[UNK]",
      "[CLS]",
      "[SEP]",
      "[MASK]",
      "heart",
    ]);
  });
  it("refuses a vocabulary without the special tokens first", () => {
    assert.throws(
      () => parseVocab(enc("[UNK]\n[PAD]\n[CLS]\n[SEP]\n[MASK]\n")),
      (e: BundleError) => e.code === "VOCAB_INVALID",
    );
  });
  it("refuses duplicate tokens, naming both lines", () => {
    assert.throws(() => parseVocab(enc("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nlung\nlung\n")), /duplicate token "lung" on lines 6 and 7/);
  });
});
