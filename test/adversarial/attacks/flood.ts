// One principal sends as many requests as it can, from several connections at once. With per-principal rate
// limits it is turned away (429 with Retry-After, or RATE_LIMITED); without them the gateway answers every
// request, which counts as "absorbed" as long as the bystander's latency holds (the runner checks that).
import { rateLimited, type Answer } from "../http.ts";
import type { Attack } from "./types.ts";
import type { Observation } from "../classify.ts";

const QUERY = `{ studies(first: 20) { totalCount edges { node { id accessionNumber patient { externalId } images { id } } } } }`;

export const floodAttacks: Attack[] = [
  {
    name: "request flood from one principal",
    family: "flood",
    async run({ gql, world, cfg, windowMs }) {
      const until = performance.now() + windowMs * 2;
      const out: Observation[] = [];
      const served = (a: Answer) => a.status === 200 && !a.json?.errors && Array.isArray(a.json?.data?.studies?.edges);
      await Promise.all(
        Array.from({ length: cfg.floodConcurrency }, async () => {
          while (performance.now() < until) {
            const a = await gql(QUERY, {}, world.a.RADIOLOGIST);
            // keep the verdicts, not thousands of bodies
            out.push({
              what: "flood request",
              answer: { ...a, text: a.text.slice(0, 20_000) },
              refused: rateLimited(a),
              absorbed: served(a),
            });
          }
        }),
      );
      // once the platform turned the principal away, what it served before was the principal's allowance
      if (out.some((o) => o.refused)) for (const o of out) if (o.absorbed) Object.assign(o, { refused: true, absorbed: false });
      return out;
    },
  },
];
