import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BundleError } from '../../workers/analysis/src/bundle/errors.ts';
import { parseManifest } from '../../workers/analysis/src/bundle/manifest.ts';
import { parseVocab } from '../../workers/analysis/src/bundle/vocab.ts';

const LABELS = ['No Finding', 'Cardiomegaly', 'Pleural Effusion'];
const REGIONS = ['right lung', 'left lung', 'cardiac silhouette'];
const HASH = 'a'.repeat(64);
const t = (name: string, dtype: string, shape: (string | number)[]) => ({ name, dtype, shape });

/** A small but complete manifest written from docs/contracts/model-bundle.md. */
function validManifest(): Record<string, any> {
  return {
    format_version: 1,
    name: 'gkmvlp-test',
    version: '0.0.1',
    created_at: '2026-01-01T00:00:00Z',
    trained_on: 'synthetic',
    config: { size: 'tiny' },
    tasks: ['classification', 'localization', 'report', 'vqa'],
    preprocessing: { image_size: 64, channels: 1, mean: 0.5, std: 0.25, resize: 'area', letterbox: true, pad_value: 0 },
    labels: LABELS,
    regions: REGIONS,
    knowledge: [{ label: 'Cardiomegaly', region: 'cardiac silhouette', sentence: 'the cardiac silhouette is enlarged' }],
    thresholds: { 'No Finding': 0.5, Cardiomegaly: 0.42, 'Pleural Effusion': 0.5 },
    localization: { heatmap_threshold: 0.5, min_box_area_frac: 0.002 },
    tokenizer: { type: 'wordpiece', vocab_file: 'vocab.txt', lowercase: true, max_length: 32, question_max_length: 16, pad_id: 0, unk_id: 1, cls_id: 2, sep_id: 3, mask_id: 4 },
    answers: ['yes', 'no', 'left'],
    closed_answers: ['yes', 'no'],
    decoding: { max_new_tokens: 20, beam_size: 3, length_penalty: 1, bos_id: 2, eos_id: 3, num_layers: 2, num_heads: 2, head_dim: 8 },
    graphs: {
      image_encoder: {
        file: 'image_encoder.onnx',
        inputs: [t('pixel_values', 'float32', ['batch', 1, 64, 64])],
        outputs: ['global_embedding', 'patch_tokens', 'region_boxes', 'region_tokens', 'knowledge_tokens', 'grounding_weights'].map((n) => t(n, 'float32', ['batch', 16])),
      },
      classification_head: { file: 'cls.onnx', inputs: [t('global_embedding', 'float32', ['batch', 16]), t('knowledge_tokens', 'float32', ['batch', 3, 16])], outputs: [t('probabilities', 'float32', ['batch', 3])] },
      localization_head: { file: 'loc.onnx', inputs: [t('patch_tokens', 'float32', ['batch', 16, 16]), t('knowledge_tokens', 'float32', ['batch', 3, 16])], outputs: [t('heatmaps', 'float32', ['batch', 3, 4, 4])] },
      report_decoder_step: {
        file: 'dec.onnx',
        inputs: ['token_ids', 'position', 'memory', 'past_keys', 'past_values'].map((n) => t(n, 'float32', ['batch'])),
        outputs: ['logits', 'present_keys', 'present_values'].map((n) => t(n, 'float32', ['batch'])),
      },
      vqa_head: {
        file: 'vqa.onnx',
        inputs: ['question_ids', 'question_mask', 'patch_tokens', 'knowledge_tokens'].map((n) => t(n, 'int64', ['batch'])),
        outputs: [t('answer_logits', 'float32', ['batch', 3])],
      },
    },
    parity: { max_abs_diff: 1e-6, tolerance: 1e-3 },
    files: { 'image_encoder.onnx': HASH, 'cls.onnx': HASH, 'loc.onnx': HASH, 'dec.onnx': HASH, 'vqa.onnx': HASH, 'vocab.txt': HASH },
  };
}

function invalidDetails(m: unknown): string[] {
  try {
    parseManifest(m);
  } catch (e) {
    assert.ok(e instanceof BundleError, `expected BundleError, got ${String(e)}`);
    assert.equal(e.code, 'MANIFEST_INVALID');
    assert.equal(e.retriable, false);
    return [...e.details];
  }
  assert.fail('manifest was accepted');
}

describe('manifest validation', () => {
  it('accepts a complete manifest and fills defaults', () => {
    const m = parseManifest(validManifest());
    assert.equal(m.localization.threshold_mode, 'absolute');
    assert.deepEqual(m.labels, LABELS);
  });

  it('names every wrong field at once', () => {
    const m = validManifest();
    m.preprocessing.std = 0;
    m.tokenizer.cls_id = 7;
    m.trained_on = 'imagined';
    const details = invalidDetails(m);
    assert.ok(details.some((d) => d.startsWith('preprocessing.std:')), details.join('\n'));
    assert.ok(details.some((d) => d.startsWith('tokenizer.cls_id:')), details.join('\n'));
    assert.ok(details.some((d) => d.startsWith('trained_on:')), details.join('\n'));
  });

  it('refuses an unknown format_version with a message saying which one it reads', () => {
    const m = validManifest();
    m.format_version = 2;
    const [d] = invalidDetails(m);
    assert.match(d!, /^format_version: .*format_version 1/);
  });

  it('refuses a sha256 that is not 64 lowercase hex chars', () => {
    const m = validManifest();
    m.files['vocab.txt'] = 'ABC';
    assert.ok(invalidDetails(m).some((d) => d.startsWith('files["vocab.txt"]:') && d.includes('sha256')));
  });

  it('refuses file paths that leave the bundle folder', () => {
    const m = validManifest();
    m.files['../../etc/passwd'] = HASH;
    assert.ok(invalidDetails(m).some((d) => d.includes('stay inside the bundle')));
  });

  it('refuses cross-field inconsistencies: thresholds, knowledge, closed answers, graphs, hashes', () => {
    const m = validManifest();
    delete m.thresholds.Cardiomegaly;
    m.knowledge[0].region = 'left ear';
    m.closed_answers = ['yes', 'maybe'];
    m.graphs.vqa_head.outputs[0].name = 'logits';
    delete m.files['dec.onnx'];
    const details = invalidDetails(m);
    const has = (prefix: string, text: string) => assert.ok(details.some((d) => d.startsWith(prefix) && d.includes(text)), `${prefix} ${text}\n${details.join('\n')}`);
    has('thresholds.Cardiomegaly', 'missing threshold');
    has('knowledge[0].region', 'left ear');
    has('closed_answers[1]', 'maybe');
    has('graphs.vqa_head.outputs', 'answer_logits');
    has('files["dec.onnx"]', 'report_decoder_step');
  });

  it('requires only the graphs of the listed tasks', () => {
    const m = validManifest();
    m.tasks = ['classification'];
    delete m.graphs.vqa_head;
    delete m.graphs.report_decoder_step;
    assert.doesNotThrow(() => parseManifest(m));
    m.tasks = ['classification', 'vqa'];
    assert.ok(invalidDetails(m).some((d) => d.startsWith('graphs.vqa_head') && d.includes('missing graph')));
  });

  it('accepts heatmaps on the patch grid or a refinement of it, and refuses any other grid', () => {
    const withGrid = (grid: number) => {
      const m = validManifest();
      m.localization = { ...m.localization, grid, patch_size: 16 }; // 64 px / 16 = a 4 x 4 patch grid
      m.graphs.localization_head.outputs[0].shape = ['batch', 3, grid, grid];
      return m;
    };
    assert.doesNotThrow(() => parseManifest(withGrid(4)));
    assert.doesNotThrow(() => parseManifest(withGrid(8)));
    for (const bad of [6, 3, 12]) assert.ok(invalidDetails(withGrid(bad)).some((d) => d.startsWith('localization.grid')), `grid ${bad}`);
  });

  it('refuses duplicate labels', () => {
    const m = validManifest();
    m.labels = [...LABELS, 'Cardiomegaly'];
    assert.ok(invalidDetails(m).some((d) => d.startsWith('labels:') && d.includes('duplicates')));
  });
});

describe('vocab.txt parsing', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  it('reads one token per line like Python (universal newlines, final newline optional)', () => {
    assert.deepEqual(parseVocab(enc('[PAD]\r\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nheart\n')), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'heart']);
  });
  it('refuses a vocabulary without the special tokens first', () => {
    assert.throws(() => parseVocab(enc('[UNK]\n[PAD]\n[CLS]\n[SEP]\n[MASK]\n')), (e: BundleError) => e.code === 'VOCAB_INVALID');
  });
  it('refuses duplicate tokens, naming both lines', () => {
    assert.throws(() => parseVocab(enc('[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nlung\nlung\n')), /duplicate token "lung" on lines 6 and 7/);
  });
});
