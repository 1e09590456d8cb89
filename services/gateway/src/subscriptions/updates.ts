// Fan-out of analysis transitions to this replica's subscribers. Messages come from the transition tailer only
// (tailer.ts), in log order and once each; mutations and the Kafka consumer merely wake the tailer up.
import { PubSub } from "./pubsub.ts";
import type { AnalysisUpdateModel } from "../graphql/models.ts";

export const studyChannel = (studyId: string) => `study:${studyId}`;
export const tenantChannel = (tenantId: string) => `tenant:${tenantId}`;

export class AnalysisUpdates {
  readonly pubsub = new PubSub<AnalysisUpdateModel>();
  private waker: () => void = () => undefined;

  publish(message: AnalysisUpdateModel): void {
    this.pubsub.publish(studyChannel(message.analysis.studyId), message);
    this.pubsub.publish(tenantChannel(message.analysis.tenantId), message);
  }

  /** A transition was committed (here or, via Kafka, elsewhere): read the log now rather than at the next poll. */
  changed(): void {
    this.waker();
  }

  onChanged(waker: () => void): void {
    this.waker = waker;
  }
}
