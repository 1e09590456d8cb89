/**
 * The VQA check's blank image (trust.ts: blankImage): encoded once per image size, and its answer kept per
 * (size, question). The blank's features are fixed for the bundle, so its answer to a question is too: one head
 * run serves every image of that size asked the same question, instead of a second head run per VQA request.
 */
import { LruCache } from "./lru.ts";
import type { EncodedImage } from "./types.ts";

/** Longer questions are answered but not kept: the cache stays small whatever callers send. */
const MAX_KEPT_QUESTION = 512;

export interface BlankCheck {
  /** the blank image with `enc`'s size, encoded (once per size) */
  image(enc: EncodedImage): Promise<EncodedImage>;
  /** the answer to `question` on the blank image with `enc`'s size */
  answer(enc: EncodedImage, question: string): Promise<string>;
  /** blank images encoded so far */
  readonly encodes: number;
  clear(): void;
}

/** Caches a promise under `key`, dropping it again if it fails (but never a newer entry for the key). */
function remember<V>(cache: LruCache<string, Promise<V>>, key: string, make: () => Promise<V>): Promise<V> {
  let known = cache.get(key);
  if (!known) {
    const p = make();
    cache.set(key, p);
    p.catch(() => {
      if (cache.peek(key) === p) cache.delete(key);
    });
    known = p;
  }
  return known;
}

export function createBlankCheck(
  encodeBlank: (key: string, width: number, height: number) => Promise<EncodedImage>,
  answerOn: (blank: EncodedImage, question: string) => Promise<string>,
): BlankCheck {
  // kept apart from the engine's image cache so blanks never evict real images
  const images = new LruCache<string, Promise<EncodedImage>>(8);
  const answers = new LruCache<string, Promise<string>>(256);
  let encodes = 0;
  const image = (enc: EncodedImage) => {
    const { width, height } = enc.letterbox;
    const key = `blank:${width}x${height}`;
    return remember(images, key, () => {
      encodes += 1;
      return encodeBlank(key, width, height);
    });
  };
  return {
    image,
    answer(enc, question) {
      const ask = () => image(enc).then((blank) => answerOn(blank, question));
      if (question.length > MAX_KEPT_QUESTION) return ask();
      return remember(answers, `${enc.letterbox.width}x${enc.letterbox.height}\n${question}`, ask);
    },
    get encodes() {
      return encodes;
    },
    clear() {
      images.clear();
      answers.clear();
    },
  };
}
