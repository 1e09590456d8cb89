/**
 * The contract's uncased WordPiece tokenizer, a line-for-line port of training/gkmvlp/tokenizer.py.
 *
 * Python details that are easy to get wrong and are mirrored on purpose:
 * - "whitespace" is Python's str.isspace() set (used by both `\s` in `re` and str.split()), which
 *   differs from JavaScript's `\s` (Python adds \x1c-\x1f and \x85; JavaScript adds \ufeff);
 * - lengths and slices count code points, not UTF-16 units.
 */

export const PAD_ID = 0;
export const UNK_ID = 1;
export const CLS_ID = 2;
export const SEP_ID = 3;
export const MASK_ID = 4;
const NUM_SPECIALS = 5;
const MAX_WORD_CHARS = 100;
const NO_SPACE_BEFORE = new Set([".", ",", ";", ":"]);

const PY_SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const ISOLATE_RE = new RegExp(`[^a-z0-9${PY_SPACE}]`, "gu");
const SPLIT_RE = new RegExp(`[${PY_SPACE}]+`, "u");

/** Python's str.lower(): per code point, without JavaScript's context rule for final sigma. */
function pyLower(text: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(text)) return text.toLowerCase();
  return text.replace(/[^\x00-\x7f]/gu, (c) => c.toLowerCase()).toLowerCase();
}

/** Lowercase, isolate every non-[a-z0-9] non-space char, split on whitespace. */
export function basicSplit(text: string): string[] {
  const spaced = pyLower(text).replace(ISOLATE_RE, (c) => ` ${c} `);
  return spaced.split(SPLIT_RE).filter((w) => w.length > 0);
}

export interface Encoded {
  ids: number[];
  mask: number[];
}

export class WordPieceTokenizer {
  readonly vocab: readonly string[];
  private readonly ids: Map<string, number>;

  constructor(vocab: readonly string[]) {
    this.vocab = vocab;
    this.ids = new Map(vocab.map((t, i) => [t, i]));
  }

  get vocabSize(): number {
    return this.vocab.length;
  }

  idOf(token: string): number | undefined {
    return this.ids.get(token);
  }

  wordpiece(word: string): number[] {
    const chars = Array.from(word);
    if (chars.length > MAX_WORD_CHARS) return [UNK_ID];
    const out: number[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let match: number | undefined;
      while (start < end) {
        const sub = chars.slice(start, end).join("");
        match = this.ids.get(start === 0 ? sub : `##${sub}`);
        if (match !== undefined) break;
        end -= 1;
      }
      if (match === undefined) return [UNK_ID];
      out.push(match);
      start = end;
    }
    return out;
  }

  tokenize(text: string): number[] {
    return basicSplit(text).flatMap((w) => this.wordpiece(w));
  }

  /** `[CLS] tokens [SEP]` truncated to maxLength (keeping [SEP] last) and padded; mask 1/0. */
  encode(text: string, maxLength: number): Encoded {
    if (!Number.isInteger(maxLength) || maxLength < 2) throw new RangeError("maxLength must be an integer >= 2 (room for [CLS] and [SEP])");
    const body = this.tokenize(text).slice(0, maxLength - 2);
    const ids = [CLS_ID, ...body, SEP_ID];
    const mask = ids.map(() => 1);
    while (ids.length < maxLength) {
      ids.push(PAD_ID);
      mask.push(0);
    }
    return { ids, mask };
  }

  /** Joins pieces ('##' glued), no space before . , ; : and drops special and out-of-range ids. */
  decode(ids: Iterable<number | bigint>): string {
    let out = "";
    for (const raw of ids) {
      const i = Number(raw);
      if (!Number.isInteger(i) || i < NUM_SPECIALS || i >= this.vocab.length) continue;
      const tok = this.vocab[i]!;
      if (tok.startsWith("##")) out += tok.slice(2);
      else if (out === "" || NO_SPACE_BEFORE.has(tok)) out += tok;
      else out += ` ${tok}`;
    }
    return out;
  }
}
