/**
 * Runs the image encoder on a batch of preprocessed images (dynamic batch axis) and splits every
 * output back into per-image tensors with a leading batch axis of 1, ready to feed the heads.
 */
import type { GraphSession, TensorData } from '../bundle/sessions.ts';
import { InferenceError } from '../bundle/errors.ts';
import type { Preprocessed } from './preprocess.ts';
import type { EncodedImage, FeatureTensor } from './types.ts';

export async function runEncoderBatch(
  session: GraphSession,
  items: readonly { key: string; pre: Preprocessed }[],
  imageSize: number,
): Promise<EncodedImage[]> {
  const n = items.length;
  const plane = imageSize * imageSize;
  const pixels = new Float32Array(n * plane);
  items.forEach((it, i) => {
    if (it.pre.tensor.length !== plane) {
      throw new InferenceError('INPUT_INVALID', `preprocessed tensor has ${it.pre.tensor.length} values, expected ${plane}`);
    }
    pixels.set(it.pre.tensor, i * plane);
  });
  const t0 = performance.now();
  let out: Record<string, TensorData>;
  try {
    out = await session.run({ pixel_values: { type: 'float32', data: pixels, dims: [n, 1, imageSize, imageSize] } });
  } catch (e) {
    throw new InferenceError('INFERENCE_FAILED', `image encoder failed on a batch of ${n}: ${(e as Error).message}`, {
      retriable: true,
      cause: e,
    });
  }
  const encodeMs = performance.now() - t0;
  const perImage: Record<string, FeatureTensor>[] = items.map(() => ({}));
  for (const name of session.outputNames) {
    const t = out[name]!;
    const data = t.data as Float32Array;
    const per = data.length / n;
    for (let i = 0; i < n; i++) {
      perImage[i]![name] = { data: data.slice(i * per, (i + 1) * per), dims: [1, ...t.dims.slice(1)] };
    }
  }
  return items.map((it, i) => ({ key: it.key, letterbox: it.pre.letterbox, features: perImage[i]!, encodeMs, batchSize: n }));
}

export function feature(enc: EncodedImage, name: string): FeatureTensor {
  const f = enc.features[name];
  if (!f) throw new InferenceError('INPUT_INVALID', `encoder output "${name}" is missing`);
  return f;
}

export const toOrt = (f: FeatureTensor): TensorData => ({ type: 'float32', data: f.data, dims: f.dims });
