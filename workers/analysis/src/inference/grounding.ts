/**
 * Knowledge grounding from the encoder outputs: per finding, the regions its GK query attended to
 * most (grounding_weights[k, r]) with the model's predicted region boxes mapped to image pixels;
 * and the links of a text (report sentence, VQA question) to regions through the findings and
 * region names it mentions.
 */
import { feature } from "./encoder.ts";
import { normBoxToImage } from "./geometry.ts";
import { MentionFinder } from "./mentions.ts";
import type { EncodedImage, GroundedRegion, MentionedLabel, PixelBox, SentenceLink } from "./types.ts";

export class Grounding {
  readonly finder: MentionFinder;

  constructor(
    readonly labels: readonly string[],
    readonly regions: readonly string[],
    readonly topRegions: number,
  ) {
    this.finder = new MentionFinder(labels, regions);
  }

  regionBox(enc: EncodedImage, r: number): PixelBox {
    return normBoxToImage(enc.letterbox, feature(enc, "region_boxes").data, r * 4);
  }

  /** Top regions of finding `k`, highest weight first (ties: model order). */
  groundedRegions(enc: EncodedImage, k: number, top = this.topRegions): GroundedRegion[] {
    const w = feature(enc, "grounding_weights").data;
    const R = this.regions.length;
    const row = Array.from(w.subarray(k * R, (k + 1) * R));
    return row
      .map((weight, index) => ({ weight, index }))
      .sort((a, b) => b.weight - a.weight || a.index - b.index)
      .slice(0, top)
      .map(({ weight, index }) => ({ region: this.regions[index]!, index, weight, box: this.regionBox(enc, index) }));
  }

  /** Labels a text mentions (with their status) and the regions it is linked to. */
  link(enc: EncodedImage, text: string): { labels: MentionedLabel[]; regions: SentenceLink[] } {
    const mentions = this.finder.find(text);
    const regions = new Map<string, SentenceLink>();
    for (const m of mentions) {
      if (m.kind !== "region" || regions.has(m.name)) continue;
      regions.set(m.name, { region: m.name, via: "mention", box: this.regionBox(enc, this.regions.indexOf(m.name)) });
    }
    const labels: MentionedLabel[] = [];
    for (const [label, status] of MentionFinder.combine(mentions)) {
      labels.push({ label, status, negated: status === "negative" });
      // A finding stated as absent has no place of its own on this image: link only what is there or suspected.
      if (status === "negative") continue;
      for (const g of this.groundedRegions(enc, this.labels.indexOf(label))) {
        if (!regions.has(g.region)) regions.set(g.region, { region: g.region, via: "finding", finding: label, box: g.box });
      }
    }
    return { labels, regions: [...regions.values()] };
  }
}
