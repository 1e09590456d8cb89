/**
 * Knowledge grounding from the encoder outputs: per finding, the regions its GK query attended to
 * most (grounding_weights[k, r]) with the model's predicted region boxes mapped to image pixels;
 * and the links of a text (report sentence, VQA question) to regions through the findings and
 * region names it mentions.
 */
import { feature } from './encoder.ts';
import { normBoxToImage } from './geometry.ts';
import { MentionFinder } from './mentions.ts';
import type { EncodedImage, GroundedRegion, PixelBox, SentenceLink } from './types.ts';

export class Grounding {
  readonly finder: MentionFinder;

  constructor(
    readonly labels: readonly string[],
    readonly regions: readonly string[],
    knowledge: readonly { label: string; sentence: string }[],
    readonly topRegions: number,
  ) {
    this.finder = new MentionFinder(labels, regions, knowledge);
  }

  regionBox(enc: EncodedImage, r: number): PixelBox {
    return normBoxToImage(enc.letterbox, feature(enc, 'region_boxes').data, r * 4);
  }

  /** Top regions of finding `k`, highest weight first (ties: model order). */
  groundedRegions(enc: EncodedImage, k: number, top = this.topRegions): GroundedRegion[] {
    const w = feature(enc, 'grounding_weights').data;
    const R = this.regions.length;
    const row = Array.from(w.subarray(k * R, (k + 1) * R));
    return row
      .map((weight, index) => ({ weight, index }))
      .sort((a, b) => b.weight - a.weight || a.index - b.index)
      .slice(0, top)
      .map(({ weight, index }) => ({ region: this.regions[index]!, index, weight, box: this.regionBox(enc, index) }));
  }

  /** Labels a text mentions (with negation) and the regions it is linked to. */
  link(enc: EncodedImage, text: string): { labels: { label: string; negated: boolean }[]; regions: SentenceLink[] } {
    const mentions = this.finder.find(text);
    const labels: { label: string; negated: boolean }[] = [];
    const regions = new Map<string, SentenceLink>();
    for (const m of mentions) {
      if (m.kind !== 'region') continue;
      const r = this.regions.indexOf(m.name);
      if (!regions.has(m.name)) regions.set(m.name, { region: m.name, via: 'mention', box: this.regionBox(enc, r) });
    }
    for (const m of mentions) {
      if (m.kind !== 'label' || labels.some((l) => l.label === m.name)) continue;
      labels.push({ label: m.name, negated: MentionFinder.negated(text, m.start) });
      const k = this.labels.indexOf(m.name);
      if (m.name === 'No Finding') continue; // "no acute findings" has no place on the image
      for (const g of this.groundedRegions(enc, k)) {
        if (!regions.has(g.region)) regions.set(g.region, { region: g.region, via: 'finding', finding: m.name, box: g.box });
      }
    }
    return { labels, regions: [...regions.values()] };
  }
}
