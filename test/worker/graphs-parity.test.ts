/**
 * Every ONNX graph of the bundle, run by onnxruntime-node, against the outputs the Python exporter
 * recorded (every element, within golden.tolerance). The encoder is fed the TypeScript-preprocessed
 * image, so its check covers preprocessing + graph end to end; the heads are fed the golden inputs
 * so each graph is checked on its own.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { loadBundle, type Bundle, type TensorData } from "../../workers/analysis/src/bundle/load.ts";
import type { GraphName } from "../../workers/analysis/src/bundle/manifest.ts";
import { preprocess } from "../../workers/analysis/src/image/preprocess.ts";
import { WordPieceTokenizer } from "../../workers/analysis/src/inference/tokenizer.ts";
import { bundleDir, goldenImage, maxAbsDiff, readGolden, type FloatArray } from "./golden-bundle.ts";

const dir = bundleDir();
const golden = readGolden(dir);
const tol = golden.tolerance;

function toTensor(bundle: Bundle, graph: GraphName, name: string, a: FloatArray): TensorData {
  const spec = bundle.manifest.graphs[graph]!.inputs.find((i) => i.name === name)!;
  return spec.dtype === "int64"
    ? { type: "int64", data: BigInt64Array.from(a.values, (v) => BigInt(v)), dims: a.shape }
    : { type: "float32", data: Float32Array.from(a.values), dims: a.shape };
}

describe("ONNX graphs match the golden outputs", () => {
  let bundle: Bundle;
  const worst: Record<string, number> = {};
  before(async () => {
    bundle = await loadBundle(dir, { intraOpNumThreads: 1 });
  });
  after(async () => {
    await bundle?.release();
  });

  const check = (graph: string, out: Record<string, TensorData>, expected: Record<string, FloatArray>) => {
    for (const [name, want] of Object.entries(expected)) {
      const got = out[name];
      assert.ok(got, `${graph}: output ${name} missing`);
      assert.deepEqual([...got!.dims], want.shape, `${graph}.${name} shape`);
      const d = maxAbsDiff(got!.data as Float32Array, want.values);
      worst[graph] = Math.max(worst[graph] ?? 0, d);
      assert.ok(d <= tol, `${graph}.${name}: max |diff| ${d} > tolerance ${tol}`);
    }
  };

  it("image_encoder on the TypeScript-preprocessed golden images", async () => {
    const cases = golden.graphs.image_encoder!;
    assert.equal(cases.length, golden.preprocess.length);
    for (const c of cases) {
      const p = golden.preprocess[c.case!]!;
      const { tensor } = preprocess(goldenImage(dir, p.image), bundle.manifest.preprocessing);
      const S = bundle.manifest.preprocessing.image_size;
      const out = await bundle.sessions.image_encoder!.run({ pixel_values: { type: "float32", data: tensor, dims: [1, 1, S, S] } });
      check("image_encoder", out, c.outputs);
    }
  });

  const members = golden.graphs.classification_members ?? [];
  it(
    "classification_members (an ensemble's other members) on the TypeScript-preprocessed golden images",
    { skip: members.length === 0 && "no classification_members entries (a bundle without an ensemble)" },
    async () => {
      const session = bundle.sessions.classification_members;
      assert.ok(session, "golden classification_members entries need the ensemble section that loads the graph");
      const S = bundle.manifest.preprocessing.image_size;
      for (const c of members) {
        const { tensor } = preprocess(goldenImage(dir, golden.preprocess[c.case!]!.image), bundle.manifest.preprocessing);
        check(
          "classification_members",
          await session.run({ pixel_values: { type: "float32", data: tensor, dims: [1, 1, S, S] } }),
          c.outputs,
        );
      }
    },
  );

  for (const [graph, inputsFromEncoder] of [
    ["classification_head", ["global_embedding", "knowledge_tokens"]],
    ["localization_head", ["patch_tokens", "knowledge_tokens"]],
    ["vqa_head", ["patch_tokens", "knowledge_tokens"]],
  ] as const) {
    it(`${graph} on the golden encoder outputs`, async () => {
      const cases = golden.graphs[graph]!;
      assert.ok(cases.length > 0, `no golden cases for ${graph}`);
      for (const c of cases) {
        const enc = golden.graphs.image_encoder!.find((e) => e.case === c.case)!.outputs;
        const feeds: Record<string, TensorData> = {};
        for (const n of inputsFromEncoder) feeds[n] = toTensor(bundle, graph, n, enc[n]!);
        for (const [n, a] of Object.entries(c.inputs ?? {})) feeds[n] = toTensor(bundle, graph, n, a);
        check(graph, await bundle.sessions[graph]!.run(feeds), c.outputs);
      }
    });
  }

  it("the TypeScript tokenizer produces the golden VQA question ids", () => {
    const tok = new WordPieceTokenizer(bundle.vocab);
    for (const c of golden.graphs.vqa_head!) {
      const T = bundle.manifest.tokenizer.question_max_length;
      const { ids, mask } = tok.encode(c.question!, T);
      assert.deepEqual(ids, c.inputs!.question_ids!.values);
      assert.deepEqual(mask, c.inputs!.question_mask!.values);
    }
  });

  it("report_decoder_step on the golden inputs (empty KV cache, then one cached token)", async () => {
    const cases = golden.graphs.report_decoder_step!;
    assert.ok(
      cases.some((c) => c.inputs!.past_keys!.shape[3] === 0),
      "a step with an empty cache",
    );
    assert.ok(
      cases.some((c) => c.inputs!.past_keys!.shape[3]! > 0),
      "a step with a filled cache",
    );
    for (const c of cases) {
      const feeds: Record<string, TensorData> = {};
      for (const [n, a] of Object.entries(c.inputs!)) feeds[n] = toTensor(bundle, "report_decoder_step", n, a);
      check("report_decoder_step", await bundle.sessions.report_decoder_step!.run(feeds), c.outputs);
    }
  });

  it("reports the worst difference per graph", (t) => {
    for (const g of ["image_encoder", "classification_head", "localization_head", "vqa_head", "report_decoder_step"]) {
      assert.ok(g in worst, `${g} was checked`);
    }
    t.diagnostic(`max |onnxruntime-node - golden| per graph: ${JSON.stringify(worst)} (tolerance ${tol})`);
  });
});
