import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { parseVocab } from "../../workers/analysis/src/bundle/vocab.ts";
import { basicSplit, WordPieceTokenizer } from "../../workers/analysis/src/inference/tokenizer.ts";
import { bundleDir, readGolden } from "./golden-bundle.ts";

describe("tokenizer parity with the Python reference (golden cases)", () => {
  const dir = bundleDir();
  const golden = readGolden(dir);
  const tok = new WordPieceTokenizer(parseVocab(readFileSync(path.join(dir, "vocab.txt"))));

  it("the golden set has cases", () => assert.ok(golden.tokenizer.length >= 3));

  for (const c of golden.tokenizer) {
    it(`encodes and decodes ${JSON.stringify(c.text.length > 40 ? `${c.text.slice(0, 40)}…` : c.text)} exactly`, () => {
      const maxLength = c.max_length ?? c.ids.length;
      const { ids, mask } = tok.encode(c.text, maxLength);
      assert.deepEqual(ids, c.ids);
      if (c.attention_mask) assert.deepEqual(mask, c.attention_mask);
      assert.equal(tok.decode(ids), c.decoded);
    });
  }
});

describe("tokenizer rules", () => {
  const vocab = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    ".",
    ",",
    ":",
    "no",
    "pleural",
    "effusion",
    "eff",
    "##usion",
    "##s",
    "heart",
    "a",
    "##b",
  ];
  const tok = new WordPieceTokenizer(vocab);
  const id = (t: string) => vocab.indexOf(t);

  it("isolates punctuation and splits on Python whitespace (incl. \\x1c-\\x1f, not \\ufeff)", () => {
    assert.deepEqual(basicSplit("No effusion.Heart,OK"), ["no", "effusion", ".", "heart", ",", "ok"]);
    assert.deepEqual(basicSplit("a\x1cb\x85c"), ["a", "b", "c"]);
    assert.deepEqual(basicSplit("a\ufeffb"), ["a", "\ufeff", "b"]);
  });

  it("matches the longest piece first and continues with ## pieces", () => {
    assert.deepEqual(tok.tokenize("effusions"), [id("effusion"), id("##s")]);
    assert.deepEqual(tok.tokenize("ab"), [id("a"), id("##b")]);
  });

  it("maps unmatched and over-long words to [UNK]", () => {
    assert.deepEqual(tok.tokenize("xyz"), [1]);
    assert.deepEqual(tok.tokenize("a".repeat(101)), [1]);
    assert.deepEqual(tok.tokenize(`a${"b".repeat(99)}`).length, 100);
  });

  it("truncates keeping [SEP] last and pads with a zero mask", () => {
    assert.deepEqual(tok.encode("no pleural effusion", 4), { ids: [2, id("no"), id("pleural"), 3], mask: [1, 1, 1, 1] });
    assert.deepEqual(tok.encode("heart", 5), { ids: [2, id("heart"), 3, 0, 0], mask: [1, 1, 1, 0, 0] });
    assert.throws(() => tok.encode("x", 1), RangeError);
  });

  it("decodes without specials, gluing ## pieces and punctuation", () => {
    assert.equal(tok.decode([2, id("no"), id("eff"), id("##usion"), id("."), id("heart"), id(":"), 1, 3, 0]), "no effusion. heart:");
    assert.equal(tok.decode([999, -1]), "");
  });
});
