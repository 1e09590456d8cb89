// Fan-out of analysis transitions to subscribers of this replica. The same transition can arrive twice:
// published locally by the mutation that made it (instant feedback) and again from Kafka (which is how the
// other replicas learn of it). A short-lived set of delivered transition keys drops the second copy.
import { PubSub } from "./pubsub.ts";
import type { AnalysisModel, AnalysisUpdateModel } from "../graphql/models.ts";

export const studyChannel = (studyId: string) => `study:${studyId}`;
export const tenantChannel = (tenantId: string) => `tenant:${tenantId}`;

/** Identifies one transition: QUEUED per request attempt, terminal states per finish time. */
export function transitionKey(analysisId: string, status: string, discriminator: string): string {
  return `${analysisId}|${status}|${discriminator}`;
}

export class AnalysisUpdates {
  readonly pubsub = new PubSub<AnalysisUpdateModel>();
  private readonly delivered = new Map<string, number>();

  constructor(private readonly rememberMs = 10 * 60_000) {}

  /** Publishes unless this transition was already published; returns whether it was. */
  publish(analysis: AnalysisModel, status: AnalysisModel["status"], key: string, at = new Date()): boolean {
    const now = Date.now();
    this.prune(now);
    if (this.delivered.has(key)) return false;
    this.delivered.set(key, now);
    const message: AnalysisUpdateModel = { analysis, status, at };
    this.pubsub.publish(studyChannel(analysis.studyId), message);
    this.pubsub.publish(tenantChannel(analysis.tenantId), message);
    return true;
  }

  private prune(now: number): void {
    // Map iteration is in insertion order: stop at the first key young enough to keep.
    for (const [key, at] of this.delivered) {
      if (now - at < this.rememberMs) break;
      this.delivered.delete(key);
    }
  }
}
