/**
 * An ensemble bundle assembled from another bundle for the engine tests: the same graphs (symlinked), plus
 * the checked-in classification_members stub (test/fixtures/ensemble/make-members-stub.py: two extra
 * members, so M = 3) and a manifest with the ensemble section. The stub is a fixed formula of the pixels'
 * mean, so the tests can recompute every member logit, and from them the combined probability.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { logit, sigmoid } from "../../workers/analysis/src/inference/calibration.ts";
import { deriveBundle, makeV2Bundle, type DerivedBundle } from "./v2-bundle.ts";

export const MEMBERS_STUB = fileURLToPath(new URL("../fixtures/ensemble/classification_members_stub.onnx", import.meta.url));
const MEMBERS_FILE = "classification_members_stub.onnx";

/** M: the bundle's own classifier and the stub's two */
export const MEMBERS = 3;
/** the stub's label count (the test bundle's 14 CheXpert labels) */
export const STUB_LABELS = 14;

/** What the stub computes (kept beside it so that a change to one shows in the other): [M - 1, labels], row-major. */
export function stubMemberLogits(tensor: ArrayLike<number>): Float64Array {
  let s = 0;
  for (let i = 0; i < tensor.length; i++) s += tensor[i]!;
  const mean = s / tensor.length;
  const out = new Float64Array((MEMBERS - 1) * STUB_LABELS);
  for (let j = 0; j < MEMBERS - 1; j++)
    for (let k = 0; k < STUB_LABELS; k++) {
      const w = ((j + 1) * (k - 6.5)) / 4;
      const c = ((-1) ** (j + k) * (k + 1)) / 10 - j / 2;
      out[j * STUB_LABELS + k] = w * mean + c;
    }
  return out;
}

/**
 * The contract's combination, written out independently of heads.ts: sigmoid of the mean of the M logits
 * (the head's probabilities [labels] and the other members' logits [M - 1, labels], row-major).
 */
export function combined(head: ArrayLike<number>, memberLogits: ArrayLike<number>): number[] {
  const others = memberLogits.length / head.length;
  return Array.from({ length: head.length }, (_, k) => {
    let z = logit(head[k]!);
    for (let j = 0; j < others; j++) z += memberLogits[j * head.length + k]!;
    return sigmoid(z / (others + 1));
  });
}

/** `src` without an ensemble (a shipped ensemble bundle's primary alone): the reference the combination starts from. */
export function makePrimaryBundle(src: string): Promise<DerivedBundle> {
  return deriveBundle(src, (m) => {
    delete m.ensemble;
    delete m.graphs.classification_members;
  });
}

/**
 * `src` with the stub as classification_members and `ensemble: {members: 3, combine: "mean_logit"}`
 * (whatever else `src` carries stays; a format-1 `src` gets makeV2Bundle's sections first); `edit` then breaks or
 * extends the manifest for a test.
 */
export async function makeEnsembleBundle(src: string, edit: (m: Record<string, any>) => void = () => {}): Promise<DerivedBundle> {
  // the contract allows an ensemble in format 2 only (its thresholds must be fitted on the combined value): a
  // format-1 source first becomes version 2 with the input_check stub
  const v1 = JSON.parse(readFileSync(path.join(src, "manifest.json"), "utf8")).format_version < 2;
  const base = v1 ? await makeV2Bundle(src) : null;
  const made = await deriveBundle(
    base?.dir ?? src,
    (m, stubSha) => {
      if (m.labels.length !== STUB_LABELS) throw new Error(`${src} has ${m.labels.length} labels, the members stub ${STUB_LABELS}`);
      const S = m.preprocessing.image_size as number;
      m.graphs.classification_members = {
        file: MEMBERS_FILE,
        inputs: [{ name: "pixel_values", dtype: "float32", shape: ["batch", 1, S, S] }],
        outputs: [{ name: "member_logits", dtype: "float32", shape: ["batch", MEMBERS - 1, STUB_LABELS] }],
      };
      m.files[MEMBERS_FILE] = stubSha;
      m.ensemble = {
        graph: "classification_members",
        members: MEMBERS,
        combine: "mean_logit",
        from: ["the test bundle (primary)", "stub member 1", "stub member 2"],
        fitted_on: "test: nothing refitted",
      };
      edit(m);
    },
    MEMBERS_STUB,
    MEMBERS_FILE,
  );
  if (!base) return made;
  return {
    ...made,
    cleanup: async () => {
      await made.cleanup();
      await base.cleanup();
    },
  };
}
