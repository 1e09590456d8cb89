/**
 * Finds which findings (labels) and anatomical regions a sentence or question talks about.
 *
 * Findings: the Python labeller's rules, shipped in the bundle's manifest (`mention_rules`, compiled by
 * bundle/mention-rules.ts), each mention classified positive / negative / uncertain within its clause, as
 * labeller.py does; docs/contracts/mention-cases.json holds the cases both sides must agree on.
 * Regions: the manifest's region names plus a few synonyms, matched on whole words, longest phrase
 * first, so "right lower lung zone" wins over "right lung".
 */
import type { MentionRules } from "../bundle/mention-rules.ts";
import { LruCache } from "./lru.ts";

/**
 * Mentions found per text: a report model writes the same sentences again and again ("no pleural effusion."),
 * and each find() runs every label's regular expressions over the text. Bounded in entries and in text length,
 * so hostile questions cannot grow it.
 */
const CACHED_TEXTS = 2048;
const MAX_CACHED_TEXT = 1000;

/** Other ways reports name a region (the synthetic report writer uses the lung ones). */
const REGION_SYNONYMS: Record<string, string[]> = {
  "cardiac silhouette": ["heart"],
  svc: ["superior vena cava"],
  "upper mediastinum": ["superior mediastinum"],
  ...Object.fromEntries(
    (["right", "left"] as const).flatMap((s) => [
      [`${s} lower lung zone`, [`${s} lung base`, `${s} base`, `${s} lower lung`, `${s} lower lobe`]],
      [`${s} upper lung zone`, [`${s} upper lung`, `${s} upper lobe`]],
      [`${s} mid lung zone`, [`${s} mid lung`]],
      [`${s} apical zone`, [`${s} apex`]],
      [`${s} hilar structures`, [`${s} hilum`, `${s} hilar`]],
    ]),
  ),
};

export type MentionStatus = "positive" | "negative" | "uncertain";
const RANK: Record<MentionStatus, number> = { positive: 3, uncertain: 2, negative: 1 };

export interface Mention {
  kind: "label" | "region";
  name: string;
  start: number;
  end: number;
  /** labels only: read like the Python labeller (negation/uncertainty in the mention's clause) */
  status?: MentionStatus;
}

interface Phrase {
  kind: "region";
  name: string;
  re: RegExp;
  words: number;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const norm = (s: string) => s.toLowerCase().replace(/\s+/g, " ").trim();

export class MentionFinder {
  private readonly regionPhrases: Phrase[];
  private readonly labelRx: { label: string; rxs: RegExp[] }[];

  constructor(
    labels: readonly string[],
    regions: readonly string[],
    private readonly rules: MentionRules,
  ) {
    this.labelRx = labels.filter((l) => rules.mentions.has(l)).map((label) => ({ label, rxs: rules.mentions.get(label)! }));
    const raw: { name: string; text: string }[] = [];
    for (const r of regions) {
      raw.push({ name: r, text: r });
      for (const s of REGION_SYNONYMS[r] ?? []) raw.push({ name: r, text: s });
    }
    const seen = new Set<string>();
    this.regionPhrases = raw
      .map((p) => ({ ...p, text: norm(p.text) }))
      .filter((p) => p.text && !seen.has(p.text) && seen.add(p.text))
      .map((p) => ({
        kind: "region" as const,
        name: p.name,
        words: p.text.split(" ").length,
        re: new RegExp(`\\b${escapeRegExp(p.text).replace(/ /g, "\\s+")}\\b`, "g"),
      }))
      .sort((a, b) => b.words - a.words || b.re.source.length - a.re.source.length);
  }

  private readonly seen = new LruCache<string, readonly Mention[]>(CACHED_TEXTS);

  /** Label mentions (labeller.py's extract_mentions on one sentence) and region mentions, in text order. */
  find(text: string): Mention[] {
    const cacheable = text.length <= MAX_CACHED_TEXT;
    const known = cacheable ? this.seen.get(text) : undefined;
    // copies: callers own what they get
    if (known) return known.map((m) => ({ ...m }));
    const found = this.scan(text);
    if (cacheable)
      this.seen.set(
        text,
        found.map((m) => ({ ...m })),
      );
    return found;
  }

  private scan(text: string): Mention[] {
    const sent = text.toLowerCase();
    const found: Mention[] = [];
    for (const { label, rxs } of this.labelRx) {
      const spans: [number, number][] = [];
      for (const rx of rxs) {
        rx.lastIndex = 0;
        for (let m = rx.exec(sent); m; m = rx.exec(sent)) {
          if (m[0].length === 0) {
            rx.lastIndex += 1;
            continue;
          }
          const start = m.index;
          const end = start + m[0].length;
          if (spans.some(([s, e]) => start < e && s < end)) continue;
          const ex = this.rules.excludeBefore.get(label);
          if (ex?.test(sent.slice(Math.max(0, start - this.rules.excludeWindow), start))) continue;
          spans.push([start, end]);
        }
      }
      for (const [start, end] of spans)
        found.push({ kind: "label", name: label, start, end, status: mentionStatus(this.rules, sent, start, end) });
    }
    const taken = new Uint8Array(sent.length);
    for (const p of this.regionPhrases) {
      p.re.lastIndex = 0;
      for (let m = p.re.exec(sent); m; m = p.re.exec(sent)) {
        const start = m.index;
        const end = start + m[0].length;
        if (taken.subarray(start, end).some((v) => v)) continue;
        taken.fill(1, start, end);
        found.push({ kind: "region", name: p.name, start, end });
      }
    }
    return found.sort((a, b) => a.start - b.start || a.end - b.end);
  }

  /** One status per label over its mentions: positive > uncertain > negative (label_report's rule). */
  static combine(mentions: readonly Mention[]): Map<string, MentionStatus> {
    const out = new Map<string, MentionStatus>();
    for (const m of mentions) {
      if (m.kind !== "label" || !m.status) continue;
      const cur = out.get(m.name);
      if (!cur || RANK[m.status] > RANK[cur]) out.set(m.name, m.status);
    }
    return out;
  }
}

/** labeller.py's _clause_start: the end of the last scope break before `pos`. */
function clauseStart(scopeBreak: RegExp, sent: string, pos: number): number {
  let start = 0;
  const head = sent.slice(0, pos);
  scopeBreak.lastIndex = 0;
  for (let m = scopeBreak.exec(head); m; m = scopeBreak.exec(head)) {
    if (m[0].length === 0) scopeBreak.lastIndex += 1;
    else start = m.index + m[0].length;
  }
  return start;
}

/** labeller.py's _status on a lower-cased sentence. */
export function mentionStatus(rules: MentionRules, sent: string, start: number, end: number): MentionStatus {
  const after = sent.slice(end);
  if (rules.postUncertainty.test(after)) return "uncertain";
  const scope = sent.slice(clauseStart(rules.scopeBreak, sent, start), end);
  if (rules.preNegation.test(scope)) return "negative";
  if (rules.postNegation.test(after)) return "negative";
  if (rules.preUncertainty.test(scope)) return "uncertain";
  return "positive";
}
