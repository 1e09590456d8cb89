/**
 * Runs the image encoder on a batch of preprocessed images (dynamic batch axis) and splits every
 * output back into per-image tensors with a leading batch axis of 1, ready to feed the heads.
 */
import * as ort from 'onnxruntime-node';
import { InferenceError } from '../bundle/errors.ts';
import type { Preprocessed } from './preprocess.ts';
import type { EncodedImage, FeatureTensor } from './types.ts';

export async function runEncoderBatch(
  session: ort.InferenceSession,
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
  let out: ort.InferenceSession.OnnxValueMapType;
  try {
    out = await session.run({ pixel_values: new ort.Tensor('float32', pixels, [n, 1, imageSize, imageSize]) });
  } catch (e) {
    throw new InferenceError('INFERENCE_FAILED', `image encoder failed on a batch of ${n}: ${(e as Error).message}`, {
      retriable: true,
      cause: e,
    });
  }
  const encodeMs = performance.now() - t0;
  const perImage: Record<string, FeatureTensor>[] = items.map(() => ({}));
  for (const name of session.outputNames) {
    const t = out[name] as ort.Tensor;
    const data = t.data as Float32Array;
    const per = data.length / n;
    for (let i = 0; i < n; i++) {
      perImage[i]![name] = { data: data.slice(i * per, (i + 1) * per), dims: [1, ...t.dims.slice(1)] };
    }
    t.dispose?.();
  }
  return items.map((it, i) => ({ key: it.key, letterbox: it.pre.letterbox, features: perImage[i]!, encodeMs, batchSize: n }));
}

export function feature(enc: EncodedImage, name: string): FeatureTensor {
  const f = enc.features[name];
  if (!f) throw new InferenceError('INPUT_INVALID', `encoder output "${name}" is missing`);
  return f;
}

export const toOrt = (f: FeatureTensor) => new ort.Tensor('float32', f.data, f.dims);
