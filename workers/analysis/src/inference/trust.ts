/**
 * The engine's per-image trust state: reported probabilities (calibrated or derived) and the
 * reliability assessment, each computed once per encoded image and shared by the four tasks (the
 * tasks of an image share one EncodedImage object through the engine's cache, so a WeakMap keyed by
 * it lives exactly as long as the features do).
 */
import type { Bundle } from "../bundle/load.ts";
import type { GraphSession } from "../bundle/sessions.ts";
import { finalProbabilities, type FinalProbability } from "./calibration.ts";
import { feature } from "./encoder.ts";
import { probabilities } from "./heads.ts";
import type { GrayImage } from "./preprocess.ts";
import { assessReliability, type Reliability } from "./reliability.ts";
import type { EncodedImage } from "./types.ts";
import type { MarkContext } from "./uncertainty.ts";

export interface Trust {
  /** labels validated on real films (none for a bundle without a reliability model) */
  readonly validated: ReadonlySet<string>;
  /** reported probability per label, in manifest order; the head runs once per image */
  finals(session: GraphSession, enc: EncodedImage): Promise<FinalProbability[]>;
  reliability(enc: EncodedImage): Reliability;
  /** what the report's sentence marks are judged against */
  markContext(enc: EncodedImage): Promise<MarkContext>;
}

export function createTrust(bundle: Bundle): Trust {
  const m = bundle.manifest;
  const validated: ReadonlySet<string> = new Set(m.reliability?.validated_on_real ?? []);
  const finalsCache = new WeakMap<EncodedImage, Promise<FinalProbability[]>>();
  const reliabilityCache = new WeakMap<EncodedImage, Reliability>();

  const finals = (session: GraphSession, enc: EncodedImage) => {
    let known = finalsCache.get(enc);
    if (!known) {
      const boxes = m.derived ? feature(enc, "region_boxes").data : null;
      known = probabilities(session, enc).then((raw) => finalProbabilities(m, raw, boxes));
      finalsCache.set(enc, known);
      // a failed run must not be served again (but never evict a newer entry)
      known.catch(() => {
        if (finalsCache.get(enc) === known) finalsCache.delete(enc);
      });
    }
    return known;
  };

  return {
    validated,
    finals,
    reliability(enc) {
      let r = reliabilityCache.get(enc);
      if (!r) {
        r = assessReliability(m, enc.input);
        reliabilityCache.set(enc, r);
      }
      return r;
    },
    async markContext(enc) {
      const cls = bundle.sessions.classification_head;
      if (!cls) return { validated, finals: null };
      const list = await finals(cls, enc);
      return { validated, finals: new Map(list.map((f) => [f.label, { probability: f.probability, threshold: m.thresholds[f.label]! }])) };
    },
  };
}

/**
 * A content-free image of the given size for the VQA check: uniform mid-grey, which the
 * normalisation maps to (about) zero inside the image while the letterbox keeps the real geometry.
 */
export function blankImage(width: number, height: number): GrayImage {
  return { width, height, data: new Uint8Array(width * height).fill(128), maxValue: 255 };
}
