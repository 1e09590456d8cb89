/**
 * Finds which findings (labels) and anatomical regions a sentence or question talks about.
 *
 * Phrases come from the manifest (label names, region names, knowledge sentences) plus a short
 * list of common radiology synonyms for the CheXpert labels. Matching is on whole words of the
 * lowercased text, longest phrase first, so "right lower lung zone" wins over "right lung".
 * A finding is negated when a negation cue ("no", "without", "free of", "negative for", "resolved")
 * precedes it in the same clause.
 */

const LABEL_SYNONYMS: Record<string, string[]> = {
  'No Finding': ['no acute cardiopulmonary', 'no acute abnormality', 'normal chest', 'no finding'],
  'Enlarged Cardiomediastinum': ['enlarged cardiomediastinum', 'mediastinal widening', 'widened mediastinum', 'cardiomediastinal silhouette is enlarged'],
  Cardiomegaly: ['cardiomegaly', 'enlarged heart', 'heart is enlarged', 'heart size is enlarged', 'cardiac silhouette is enlarged', 'enlarged cardiac silhouette'],
  'Lung Opacity': ['opacity', 'opacities', 'opacification'],
  'Lung Lesion': ['lesion', 'nodule', 'nodules', 'mass'],
  Edema: ['edema', 'oedema', 'vascular congestion'],
  Consolidation: ['consolidation', 'consolidations'],
  Pneumonia: ['pneumonia', 'infection'],
  Atelectasis: ['atelectasis', 'atelectatic', 'collapse'],
  Pneumothorax: ['pneumothorax', 'pneumothoraces'],
  'Pleural Effusion': ['pleural effusion', 'pleural effusions', 'effusion', 'effusions'],
  'Pleural Other': ['pleural thickening', 'pleural other', 'pleural plaque', 'pleural plaques'],
  Fracture: ['fracture', 'fractures', 'fractured'],
  'Support Devices': ['support device', 'support devices', 'tube', 'catheter', 'pacemaker', 'line', 'wires', 'device'],
};

const REGION_SYNONYMS: Record<string, string[]> = {
  'cardiac silhouette': ['heart'],
  svc: ['superior vena cava'],
  abdomen: ['upper abdomen'],
};

const NEGATION = /\b(no|without|free of|negative for|resolved|resolution of|absence of|not)\b/;
const CLAUSE_BREAK = /[,;:]|\bbut\b|\bhowever\b|\bwith\b/;

export interface Mention {
  kind: 'label' | 'region';
  name: string;
  start: number;
  end: number;
}

interface Phrase {
  kind: 'label' | 'region';
  name: string;
  re: RegExp;
  words: number;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const norm = (s: string) => s.toLowerCase().replace(/\s+/g, ' ').trim();

export class MentionFinder {
  private readonly phrases: Phrase[];

  constructor(labels: readonly string[], regions: readonly string[], knowledge: readonly { label: string; sentence: string }[] = []) {
    const raw: { kind: 'label' | 'region'; name: string; text: string }[] = [];
    for (const l of labels) {
      raw.push({ kind: 'label', name: l, text: l });
      for (const s of LABEL_SYNONYMS[l] ?? []) raw.push({ kind: 'label', name: l, text: s });
    }
    for (const k of knowledge) if (labels.includes(k.label)) raw.push({ kind: 'label', name: k.label, text: k.sentence });
    for (const r of regions) {
      raw.push({ kind: 'region', name: r, text: r });
      for (const s of REGION_SYNONYMS[r] ?? []) raw.push({ kind: 'region', name: r, text: s });
    }
    const seen = new Set<string>();
    this.phrases = raw
      .map((p) => ({ ...p, text: norm(p.text) }))
      .filter((p) => p.text && !seen.has(`${p.kind}|${p.text}`) && seen.add(`${p.kind}|${p.text}`))
      .map((p) => ({ kind: p.kind, name: p.name, words: p.text.split(' ').length, re: new RegExp(`\\b${escape(p.text).replace(/ /g, '\\s+')}\\b`, 'g') }))
      .sort((a, b) => b.words - a.words || b.re.source.length - a.re.source.length);
  }

  /** Mentions (labels and regions matched independently; within a kind non-overlapping, longest first), in text order. */
  find(text: string): Mention[] {
    const lower = text.toLowerCase();
    const takenBy = { label: new Uint8Array(lower.length), region: new Uint8Array(lower.length) };
    const found: Mention[] = [];
    for (const p of this.phrases) {
      p.re.lastIndex = 0;
      for (let m = p.re.exec(lower); m; m = p.re.exec(lower)) {
        const start = m.index;
        const end = start + m[0].length;
        const taken = takenBy[p.kind];
        if (taken.subarray(start, end).some((v) => v)) continue;
        taken.fill(1, start, end);
        found.push({ kind: p.kind, name: p.name, start, end });
      }
    }
    return found.sort((a, b) => a.start - b.start);
  }

  /** Is the mention at `start` negated by a cue earlier in its clause? */
  static negated(text: string, start: number): boolean {
    const before = text.slice(0, start).toLowerCase();
    const clauses = before.split(CLAUSE_BREAK);
    return NEGATION.test(clauses[clauses.length - 1] ?? '');
  }
}
