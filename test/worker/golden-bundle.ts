/**
 * Locates the model bundle the worker tests run against and reads its golden vectors.
 *
 * GKMVLP_TEST_BUNDLE names the bundle folder; otherwise .local/test-bundle under the repository (git-ignored)
 * (where the test setup exports a tiny bundle). A missing bundle is a failure with instructions,
 * never a silent skip: parity with the Python side is the point of these tests.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { GrayImage } from "../../workers/analysis/src/image/preprocess.ts";
import { decodeImage } from "../../workers/analysis/src/image/decode.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DEFAULT_TEST_BUNDLE = path.join(repoRoot, ".local", "test-bundle");

export function bundleDir(): string {
  // test-only location override: tests may read the environment, entry points read it through lib/config
  const dir = process.env.GKMVLP_TEST_BUNDLE ?? DEFAULT_TEST_BUNDLE;
  if (!existsSync(path.join(dir, "manifest.json"))) {
    throw new Error(
      `no GK-MVLP bundle at ${dir} (manifest.json missing). Export one first, e.g. ` +
        `"cd training && python3 -m gkmvlp.cli.export --checkpoint <ckpt> --out ${dir}" (the test setup does this), ` +
        "or set GKMVLP_TEST_BUNDLE to a bundle folder.",
    );
  }
  return dir;
}

export interface FloatArray {
  shape: number[];
  values: number[];
}

export interface Golden {
  tolerance: number;
  preprocess: {
    image: string;
    width: number;
    height: number;
    scale: number;
    pad_x: number;
    pad_y: number;
    tensor_sha256: string;
    tensor_sample: { indices: number[]; values: number[] };
    tensor_sum: number;
    tensor_abs_sum: number;
  }[];
  graphs: Record<
    string,
    { case?: number; question?: string; answer?: string; inputs?: Record<string, FloatArray>; outputs: Record<string, FloatArray> }[]
  >;
  tokenizer: { text: string; max_length?: number; ids: number[]; attention_mask?: number[]; decoded: string }[];
  report: { case: number; greedy_ids: number[]; greedy_text: string }[];
  /** region_boxes after the manifest's anatomy_boxes regions took the extents of their masks (format 2) */
  anatomy_boxes?: { case: number; region_boxes: FloatArray }[];
}

export function readGolden(dir = bundleDir()): Golden {
  return JSON.parse(readFileSync(path.join(dir, "golden", "golden.json"), "utf8")) as Golden;
}

export function goldenImage(dir: string, rel: string): GrayImage {
  return decodeImage(readFileSync(path.join(dir, "golden", rel)));
}

/** Largest |a - b| over two equally long arrays (NaN anywhere counts as infinite). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
  }
  return worst;
}
