// Format version 2 of manifest.json (docs/contracts/model-bundle.md, "Format version 2" and its optional
// sections), on hand-made manifests: what is required in version 2, what version 1 may carry, and the
// cross-checks against labels, regions and tasks.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BundleError } from "../../workers/analysis/src/bundle/errors.ts";
import { parseManifest, requiredGraphs } from "../../workers/analysis/src/bundle/manifest.ts";
import { checkDeclaredSizes } from "../../workers/analysis/src/bundle/sizes.ts";
import { validManifest, validManifestV2 } from "./manifests.ts";

function problems(m: unknown): string[] {
  try {
    parseManifest(m);
  } catch (e) {
    assert.ok(e instanceof BundleError && e.code === "MANIFEST_INVALID", String(e));
    return [...e.details];
  }
  assert.fail("manifest was accepted");
}

const has = (details: string[], prefix: string, text: string) =>
  assert.ok(
    details.some((d) => d.startsWith(prefix) && d.includes(text)),
    `${prefix} … ${text}\n${details.join("\n")}`,
  );

/** checkDeclaredSizes' problems with the members graph (the hand-made encoder outputs are not to scale) */
function memberSizeProblems(m: unknown): string[] {
  try {
    checkDeclaredSizes(parseManifest(m), 64);
    return [];
  } catch (e) {
    assert.ok(e instanceof BundleError && e.code === "GRAPH_MISMATCH", String(e));
    return e.details.filter((d) => d.includes("classification_members"));
  }
}

describe("manifest format version 2", () => {
  it("accepts a complete version-2 manifest and loads the input_check graph with the task graphs", () => {
    const m = parseManifest(validManifestV2());
    assert.equal(m.format_version, 2);
    assert.equal(m.calibration?.labels["Pleural Effusion"]?.a, 0.8);
    assert.equal(m.derived?.Cardiomegaly?.heart_region, "cardiac silhouette");
    assert.deepEqual(m.reliability?.ood_thresholds, { caution: 1.6, abstain: 3.0 });
    assert.ok(requiredGraphs(m).includes("input_check"));
  });

  it("still reads version 1, which needs no input_check graph and may carry calibration and derived findings", () => {
    const plain = parseManifest(validManifest());
    assert.equal(plain.reliability, undefined);
    assert.ok(!requiredGraphs(plain).includes("input_check"));
    const v1 = validManifest();
    v1.calibration = { method: "platt", labels: { Cardiomegaly: { a: 1.2, b: 0.1 } } };
    v1.derived = validManifestV2().derived;
    assert.equal(parseManifest(v1).calibration?.labels.Cardiomegaly?.b, 0.1);
  });

  it("requires calibration and reliability in version 2", () => {
    const m = validManifestV2();
    delete m.calibration;
    delete m.reliability;
    const d = problems(m);
    has(d, "calibration", "required in format_version 2");
    has(d, "reliability", "required in format_version 2");
  });

  it("requires the input_check graph with the contract I/O names and a listed hash", () => {
    const missing = validManifestV2();
    delete missing.graphs.input_check;
    has(problems(missing), "graphs.input_check", "required by reliability.graph");
    const renamed = validManifestV2();
    renamed.graphs.input_check.outputs[1].name = "distance";
    delete renamed.files["input_check.onnx"];
    const d = problems(renamed);
    has(d, "graphs.input_check.outputs", "ood_distance");
    has(d, 'files["input_check.onnx"]', "input_check");
    const other = validManifestV2();
    other.reliability.graph = "frontal_check";
    has(problems(other), "reliability.graph", "input_check");
  });

  it("refuses calibration, derived findings and validated labels that name unknown labels or regions", () => {
    const m = validManifestV2();
    m.calibration.labels.Dragons = { a: 1, b: 0 };
    m.derived.Cardiomegaly.thorax_regions = ["right lung", "left ear"];
    m.derived.Wings = { ...m.derived.Cardiomegaly, heart_region: "tail" };
    m.reliability.validated_on_real.push("Unicorns");
    m.reliability.ood_thresholds = { caution: 3, abstain: 1 };
    const d = problems(m);
    has(d, "calibration.labels.Dragons", "unknown label");
    has(d, "derived.Cardiomegaly.thorax_regions[1]", "left ear");
    has(d, "derived.Wings", "unknown label");
    has(d, "derived.Wings.heart_region", "tail");
    has(d, "reliability.validated_on_real[2]", "Unicorns");
    has(d, "reliability.ood_thresholds", "abstain must not be below caution");
  });

  it("reads an ensemble section: its graph with the contract I/O, at least two members, the classification task", () => {
    const m = validManifestV2();
    m.ensemble = { graph: "classification_members", members: 3, combine: "mean_logit", from: ["a", "b", "c"], fitted_on: "hand-made" };
    m.graphs.classification_members = {
      file: "members.onnx",
      inputs: [{ name: "pixel_values", dtype: "float32", shape: ["batch", 1, 64, 64] }],
      outputs: [{ name: "member_logits", dtype: "float32", shape: ["batch", 2, 3] }],
    };
    m.files["members.onnx"] = "a".repeat(64);
    const parsed = parseManifest(m);
    assert.equal(parsed.ensemble?.members, 3);
    assert.ok(requiredGraphs(parsed).includes("classification_members"));
    assert.ok(!requiredGraphs(parseManifest(validManifestV2())).includes("classification_members"));
    assert.deepEqual(memberSizeProblems(m), []);

    const wrong = structuredClone(m);
    wrong.ensemble = { graph: "members", members: 1, combine: "mean_prob" };
    const d = problems(wrong);
    has(d, "ensemble.graph", "classification_members");
    has(d, "ensemble.members", ">=2");
    has(d, "ensemble.combine", "mean_logit");
    const noTask = structuredClone(m);
    noTask.tasks = ["report"];
    has(problems(noTask), "ensemble", 'needs the "classification" task');
    // format 1 has no calibration or thresholds fitted on the combined value: its head-fitted thresholds would be
    // applied to another number
    const v1 = structuredClone(m);
    v1.format_version = 1;
    has(problems(v1), "ensemble", "format_version 2");
    const missing = structuredClone(m);
    delete missing.graphs.classification_members;
    has(problems(missing), "graphs.classification_members", "required by ensemble");
    const renamed = structuredClone(m);
    renamed.graphs.classification_members.outputs[0].name = "logits";
    has(problems(renamed), "graphs.classification_members.outputs", "member_logits");
  });

  it("checks the members graph's declared member_logits against ensemble.members and the labels", () => {
    const m = validManifestV2();
    m.ensemble = { graph: "classification_members", members: 4, combine: "mean_logit" };
    m.graphs.classification_members = {
      file: "members.onnx",
      inputs: [{ name: "pixel_values", dtype: "float32", shape: ["batch", 1, "S", "S"] }],
      outputs: [{ name: "member_logits", dtype: "float32", shape: ["batch", 2, 5] }],
    };
    m.files["members.onnx"] = "a".repeat(64);
    assert.deepEqual(memberSizeProblems(m), [
      "graphs.classification_members.outputs.member_logits.shape[1] is 2, but ensemble.members - 1 is 3",
      "graphs.classification_members.outputs.member_logits.shape[2] is 5, but the number of labels is 3",
    ]);
    m.graphs.classification_members.outputs[0].shape = ["batch", "members", "labels"];
    assert.deepEqual(memberSizeProblems(m), [], "symbolic dims are checked when the graph runs");
  });

  it("checks the input_check graph against the image size and the encoder embedding width", () => {
    const m = validManifestV2();
    m.graphs.image_encoder.outputs[0].shape = ["batch", 16];
    m.graphs.input_check.inputs[0].shape = ["batch", 1, 32, 32];
    m.graphs.input_check.inputs[1].shape = ["batch", 24];
    assert.throws(
      () => checkDeclaredSizes(parseManifest(m), 64),
      (e: BundleError) =>
        e.code === "GRAPH_MISMATCH" &&
        /input_check\.inputs\.pixel_values\.shape\[2\]/.test(e.message) &&
        /input_check\.inputs\.global_embedding\.shape\[1\] is 24/.test(e.message),
    );
  });
});
