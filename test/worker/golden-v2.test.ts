// A version-2 bundle's own golden vectors (docs/contracts/model-bundle.md, last paragraph): the
// input_check graph's outputs and the calibrated/derived probabilities that Python computed, checked
// here with the same inputs, so both languages prove the same arithmetic. A version-1 bundle has
// neither and the checks are skipped with a note (engine-v2.test.ts covers the code paths meanwhile).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { loadBundle, type Bundle } from "../../workers/analysis/src/bundle/load.ts";
import { readFileSync } from "node:fs";
import path from "node:path";
import { finalProbabilities } from "../../workers/analysis/src/inference/calibration.ts";
import { preprocess, type PreprocessConfig } from "../../workers/analysis/src/image/preprocess.ts";
import { createEngine, type Engine } from "../../workers/analysis/src/inference/engine.ts";
import { bundleDir, goldenImage, maxAbsDiff, readGolden, type FloatArray } from "./golden-bundle.ts";

const dir = bundleDir();
const golden = readGolden(dir) as ReturnType<typeof readGolden> & { calibrated?: Record<string, unknown>[] };
const anatomyBoxes = golden.anatomy_boxes ?? [];
const inputCheck = golden.graphs.input_check ?? [];
const calibrated = golden.calibrated ?? [];

const values = (v: unknown): number[] | undefined =>
  Array.isArray(v)
    ? (v as number[])
    : v && typeof v === "object" && Array.isArray((v as FloatArray).values)
      ? (v as FloatArray).values
      : undefined;

/**
 * The contract names the entry's fields loosely ("case, raw probabilities, expected calibrated/derived
 * probabilities"): accept `raw`/`raw_probabilities` beside `probabilities`, or `probabilities` beside
 * `calibrated`/`calibrated_probabilities`/`expected`.
 */
function rawAndExpected(e: Record<string, unknown>): { raw: number[]; expected: number[] } {
  const expectedField = values(e.calibrated_probabilities) ?? values(e.calibrated) ?? values(e.expected) ?? values(e.final_probabilities);
  const rawField = values(e.raw_probabilities) ?? values(e.raw);
  const raw = rawField ?? (expectedField ? values(e.probabilities) : undefined);
  const expected = expectedField ?? (rawField ? values(e.probabilities) : undefined);
  if (!raw || !expected)
    throw new Error(`golden calibrated entry without raw and expected probabilities: keys ${Object.keys(e).join(", ")}`);
  return { raw, expected };
}

type GraphEntry = (typeof inputCheck)[number];

/** The entry's own inputs when written in full, else the case's: its preprocessed image and golden encoder embedding. */
function inputCheckFeeds(entry: GraphEntry) {
  const tensor = (t: FloatArray) => ({ type: "float32", data: Float32Array.from(t.values), dims: t.shape });
  if (entry.inputs?.pixel_values && entry.inputs.global_embedding) {
    return { pixel_values: tensor(entry.inputs.pixel_values), global_embedding: tensor(entry.inputs.global_embedding) };
  }
  const c = entry.case!;
  const m = JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8")) as { preprocessing: PreprocessConfig };
  const pre = preprocess(goldenImage(dir, golden.preprocess[c]!.image), m.preprocessing);
  const embedding = golden.graphs.image_encoder!.find((g) => g.case === c)!.outputs.global_embedding!;
  return {
    pixel_values: { type: "float32", data: pre.tensor, dims: [1, 1, m.preprocessing.image_size, m.preprocessing.image_size] },
    global_embedding: tensor(embedding),
  };
}

describe(
  "version-2 golden vectors",
  {
    skip:
      inputCheck.length + calibrated.length === 0
        ? `bundle ${dir} has no input_check or calibrated golden entries (format_version 1)`
        : false,
  },
  () => {
    let bundle: Bundle;
    let engine: Engine;
    before(async () => {
      bundle = await loadBundle(dir);
      engine = createEngine(bundle);
    });
    after(async () => {
      await engine?.close();
      await bundle?.release();
    });

    it(
      "input_check reproduces the golden outputs from the golden inputs, and from the golden image through the engine",
      { skip: inputCheck.length === 0 && "no input_check entries" },
      async () => {
        const session = bundle.sessions.input_check;
        assert.ok(session, "the bundle has golden input_check entries, so it must load an input_check session");
        for (const entry of inputCheck) {
          const out = await session.run(inputCheckFeeds(entry));
          for (const [name, expected] of Object.entries(entry.outputs)) {
            const diff = maxAbsDiff(out[name]!.data as Float32Array, expected.values);
            assert.ok(diff <= golden.tolerance, `case ${entry.case} ${name}: max |diff| ${diff}`);
          }
          if (entry.case === undefined) continue;
          const enc = await engine.encode({
            key: `golden-v2-${entry.case}`,
            image: goldenImage(dir, golden.preprocess[entry.case]!.image),
          });
          assert.ok(
            Math.abs(enc.input.frontalProbability! - entry.outputs.frontal_cxr_probability!.values[0]!) <= golden.tolerance,
            `case ${entry.case} frontal probability through the engine`,
          );
          assert.ok(
            Math.abs(enc.input.oodDistance! - entry.outputs.ood_distance!.values[0]!) <= golden.tolerance,
            `case ${entry.case} ood distance through the engine`,
          );
        }
      },
    );

    it(
      "calibration and derived findings give the golden probabilities, in isolation and through the engine",
      { skip: calibrated.length === 0 && "no calibrated entries" },
      async () => {
        for (const entry of calibrated) {
          const c = Number(entry.case);
          const { raw, expected } = rawAndExpected(entry);
          const boxes =
            anatomyBoxes.find((g) => g.case === c)?.region_boxes.values ??
            golden.graphs.image_encoder?.find((g) => g.case === c)?.outputs.region_boxes?.values ??
            null;
          const finals = finalProbabilities(bundle.manifest, raw, boxes).map((f) => f.probability);
          assert.ok(maxAbsDiff(finals, expected) <= golden.tolerance, `case ${c}: arithmetic max |diff| ${maxAbsDiff(finals, expected)}`);
          const cls = await engine.classify({ key: `golden-v2-${c}`, image: goldenImage(dir, golden.preprocess[c]!.image) });
          // raw is the head's probability, or an ensemble bundle's combined one (its members graph included)
          const gotRaw = cls.findings.map((f) => f.rawProbability);
          assert.ok(maxAbsDiff(gotRaw, raw) <= golden.tolerance, `case ${c}: engine raw max |diff| ${maxAbsDiff(gotRaw, raw)}`);
          const got = cls.findings.map((f) => f.probability);
          assert.ok(maxAbsDiff(got, expected) <= golden.tolerance, `case ${c}: engine max |diff| ${maxAbsDiff(got, expected)}`);
        }
      },
    );

    it(
      "the engine's region boxes are the golden ones after the anatomy masks replaced the listed regions",
      { skip: anatomyBoxes.length === 0 && "no anatomy_boxes entries" },
      async () => {
        assert.ok(bundle.manifest.anatomy_boxes, "golden anatomy_boxes entries need the manifest section");
        for (const entry of anatomyBoxes) {
          const enc = await engine.encode({
            key: `golden-v2-${entry.case}`,
            image: goldenImage(dir, golden.preprocess[entry.case]!.image),
          });
          const got = enc.features.region_boxes!.data;
          const diff = maxAbsDiff(got, entry.region_boxes.values);
          assert.ok(diff <= golden.tolerance, `case ${entry.case}: region_boxes max |diff| ${diff}`);
        }
      },
    );
  },
);
