// The bystander: another principal of the platform repeating a small authenticated query for as long as the suite
// runs, each latency stamped with its start time so that each attack's window can be cut out of it.
import { gqlRequest, type HeaderMap } from "./http.ts";

export const NORMAL_QUERY = `{ studies(first: 5) { edges { node { id } } } }`;

export interface NormalSample {
  at: number;
  ms: number;
  ok: boolean;
}

export function startNormalClient(baseUrl: string, auth: HeaderMap, intervalMs: number, deadlineMs: number) {
  const gql = gqlRequest(baseUrl, deadlineMs);
  const samples: NormalSample[] = [];
  let running = true;
  let inFlight: Promise<unknown> = Promise.resolve();
  const loop = (async () => {
    while (running) {
      const at = performance.now();
      const pending = gql(NORMAL_QUERY, {}, auth);
      inFlight = pending;
      const a = await pending;
      const ok = a.status === 200 && !a.json?.errors && Array.isArray(a.json?.data?.studies?.edges) && a.json.data.studies.edges.length > 0;
      samples.push({ at, ms: a.ms, ok });
      if (intervalMs > 0) await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    /** the samples that were in flight at some time within [from, to) (started before `to`, ended after `from`) */
    between: (from: number, to: number) => samples.filter((s) => s.at < to && s.at + s.ms > from),
    /** resolves when the request in flight now has been recorded */
    async settled() {
      await inFlight;
      await new Promise((r) => setImmediate(r));
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}
