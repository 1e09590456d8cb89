/**
 * A version-2 bundle assembled from a version-1 one for the engine tests: the same graphs (symlinked),
 * plus the checked-in input_check stub (test/fixtures/reliability/make-input-check-stub.py) and a
 * manifest with calibration, a derived Cardiomegaly and reliability thresholds. The stub is a fixed
 * formula, so the tests can recompute every number the engine reports.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFile, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ClassificationResult, ReportResult } from "../../workers/analysis/src/inference/types.ts";
import { markSentence } from "../../workers/analysis/src/inference/uncertainty.ts";

export const STUB = fileURLToPath(new URL("../fixtures/reliability/input_check_stub.onnx", import.meta.url));

/** What the stub computes (kept beside it so that a change to one shows in the other). */
export const stubFrontal = (tensor: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < tensor.length; i++) s += tensor[i]!;
  return 1 / (1 + Math.exp(-s / tensor.length));
};
export const stubOod = (embedding: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < embedding.length; i++) s += embedding[i]! ** 2;
  return Math.sqrt(s / embedding.length);
};

export const V2_SECTIONS = {
  calibration: {
    method: "platt",
    fitted_on: "test: hand-made",
    labels: { "Pleural Effusion": { a: 0.8, b: -0.3, n: 10 }, Edema: { a: 0.5, b: -1.0, n: 10 } },
  },
  derived: {
    Cardiomegaly: {
      kind: "cardiothoracic_ratio",
      heart_region: "cardiac silhouette",
      thorax_regions: ["right lung", "left lung"],
      a: 25,
      b: -12.5,
    },
  },
  reliability: {
    graph: "input_check",
    // loose on purpose: any film passes, so the golden cases read OK and a blank image fails only the blank check
    frontal_threshold: 0.05,
    ood_thresholds: { caution: 1000, abstain: 2000 },
    blank_std: 0.02,
    validated_on_real: ["No Finding", "Cardiomegaly", "Pleural Effusion"],
    fitted_on: "test: hand-made",
  },
};

export interface DerivedBundle {
  dir: string;
  manifest: Record<string, any>;
  cleanup(): Promise<void>;
}

/**
 * A copy of bundle `src` (its files symlinked, the stub added under `stubFile`) with an edited manifest;
 * `edit` gets the stub's sha256 for the manifest's `files`.
 */
export async function deriveBundle(
  src: string,
  edit: (m: Record<string, any>, stubSha: string) => void,
  stub = STUB,
  stubFile = STUB_FILE,
): Promise<DerivedBundle> {
  const dir = await mkdtemp(path.join(tmpdir(), "gkmvlp-derived-"));
  // (a file name no bundle uses: a copy onto a symlinked name would write through into the source bundle)
  for (const entry of await readdir(src))
    if (entry !== "manifest.json" && entry !== stubFile) await symlink(path.join(src, entry), path.join(dir, entry));
  await copyFile(stub, path.join(dir, stubFile));
  const m = JSON.parse(await readFile(path.join(src, "manifest.json"), "utf8")) as Record<string, any>;
  edit(
    m,
    createHash("sha256")
      .update(await readFile(stub))
      .digest("hex"),
  );
  await writeFile(path.join(dir, "manifest.json"), JSON.stringify(m, null, 2));
  return { dir, manifest: m, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

const STUB_FILE = "input_check_stub.onnx";

/** anatomy_boxes as the Python fit writes it: lungs and heart from the anatomy masks */
export const ANATOMY_BOXES = {
  regions: ["right lung", "left lung", "cardiac silhouette"],
  threshold: 0.5,
  method: "largest_component_4",
};

/**
 * Version 2 with the stub as input_check and the sections above (whatever version `src` is); with
 * `anatomyBoxes` also the anatomy_boxes section (`src` must have the anatomy graph), with `vqaPresence`
 * a vqa_presence section of those phrases.
 */
export function makeV2Bundle(
  src: string,
  opts: { anatomyBoxes?: boolean; vqaPresence?: Record<string, string> } = {},
): Promise<DerivedBundle> {
  return deriveBundle(src, (m, stubSha) => {
    // only the sections asked for (a shipped source bundle may carry its own)
    delete m.anatomy_boxes;
    delete m.vqa_presence;
    dropEnsemble(m);
    if (opts.vqaPresence) m.vqa_presence = { method: "finding_threshold", phrases: opts.vqaPresence };
    if (opts.anatomyBoxes) {
      if (!m.anatomy) throw new Error(`${src} has no anatomy graph (export-test-bundle.py builds one)`);
      m.anatomy_boxes = structuredClone(ANATOMY_BOXES);
    }
    const S = m.preprocessing.image_size as number;
    const D = m.graphs.image_encoder.outputs.find((o: { name: string }) => o.name === "global_embedding").shape[1];
    Object.assign(m, structuredClone(V2_SECTIONS), { format_version: 2, trained_on: "mixed" });
    m.graphs.input_check = {
      file: STUB_FILE,
      inputs: [
        { name: "pixel_values", dtype: "float32", shape: ["batch", 1, S, S] },
        { name: "global_embedding", dtype: "float32", shape: ["batch", D] },
      ],
      outputs: [
        { name: "frontal_cxr_probability", dtype: "float32", shape: ["batch"] },
        { name: "ood_distance", dtype: "float32", shape: ["batch"] },
      ],
    };
    m.files[STUB_FILE] = stubSha;
  });
}

/**
 * The primary's classifier alone: these bundles recompute their numbers from the head (engine-v2.test.ts), and
 * format 1 cannot carry an ensemble; engine-ensemble.test.ts adds its own members on top.
 */
function dropEnsemble(m: Record<string, any>): void {
  delete m.ensemble;
  delete m.graphs.classification_members;
}

/** Version 1 of the same graphs (the reference the version-2 numbers are recomputed from). */
export function makeV1Bundle(src: string, trainedOn = "synthetic"): Promise<DerivedBundle> {
  return deriveBundle(src, (m) => {
    m.format_version = 1;
    m.trained_on = trainedOn;
    delete m.calibration;
    delete m.derived;
    delete m.reliability;
    delete m.anatomy_boxes;
    delete m.vqa_presence;
    delete m.graphs.input_check;
    dropEnsemble(m);
  });
}

/** Every report sentence carries the marks its labels earn against the classification's reported findings. */
export function assertReportMarks(rep: ReportResult, cls: ClassificationResult): void {
  const finals = new Map(cls.findings.map((f) => [f.label, { probability: f.probability, threshold: f.threshold }]));
  const validated = new Set(V2_SECTIONS.reliability.validated_on_real);
  for (const s of rep.sentences) {
    assert.deepEqual({ uncertain: s.uncertain, uncertainReason: s.uncertainReason }, markSentence(s.labels, { validated, finals }), s.text);
  }
}
