/** vocab.txt: one token per line, line index = id (read exactly like gkmvlp/tokenizer.py does). */
import { BundleError } from "./errors.ts";

export const SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const;

export function parseVocab(bytes: Uint8Array, source = "vocab.txt"): string[] {
  // Python's read_text uses universal newlines: "\r\n" and "\r" both end a line.
  const lines = Buffer.from(bytes).toString("utf8").replace(/\r\n?/g, "\n").split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const head = lines.slice(0, SPECIAL_TOKENS.length);
  if (SPECIAL_TOKENS.some((t, i) => head[i] !== t)) {
    throw new BundleError("VOCAB_INVALID", `${source}: must start with ${SPECIAL_TOKENS.join(", ")}; got ${head.join(", ")}`);
  }
  const seen = new Map<string, number>();
  lines.forEach((t, i) => {
    const prev = seen.get(t);
    if (prev !== undefined) throw new BundleError("VOCAB_INVALID", `${source}: duplicate token "${t}" on lines ${prev + 1} and ${i + 1}`);
    seen.set(t, i);
  });
  return lines;
}
