// A subscription that resumes after a cursor: replay from the log, then live, with no gap and no duplicate.
// The live listener is registered BEFORE the replay is read. Every row after the cursor is then either read
// by the replay (it was readable when the replay ran) or published by this replica's tailer after the
// listener was registered (the tailer publishes and advances with no await between), or both: live
// messages at or before the last replayed position are the "both" and are dropped.
import { comparePositions, type Position, type TransitionRepository } from "../../../../lib/db/repositories/transitions.ts";
import type { AnalysisReader } from "./tailer.ts";
import type { AnalysisUpdateModel } from "../graphql/models.ts";
import { resyncRequired, type ReplayLimits } from "./cursor.ts";
import { toMessages } from "./tailer.ts";
import type { AnalysisUpdates } from "./updates.ts";

const PAGE = 200;

export async function resumeAfter(
  deps: { log: TransitionRepository; analyses: AnalysisReader; updates: AnalysisUpdates; limits: ReplayLimits },
  channel: string,
  scope: { tenantId: string; studyId?: string },
  after: Position,
): Promise<AsyncIterableIterator<AnalysisUpdateModel>> {
  const live = deps.updates.pubsub.iterate(channel, deps.limits.maxRows + 1000);
  const replay: AnalysisUpdateModel[] = [];
  let last = after;
  try {
    for (let read = 0; ; ) {
      const { rows } = await deps.log.readAfter(last, PAGE, scope);
      read += rows.length;
      if (read > deps.limits.maxRows) throw resyncRequired(`More than ${deps.limits.maxRows} updates were missed.`);
      replay.push(...(await toMessages(deps.analyses, rows)));
      if (rows.length > 0) last = rows[rows.length - 1]!;
      if (rows.length < PAGE) break;
    }
  } catch (error) {
    await live.return?.();
    throw error;
  }
  const iterator: AsyncIterableIterator<AnalysisUpdateModel> = {
    async next() {
      const replayed = replay.shift();
      if (replayed) return { value: replayed, done: false };
      for (;;) {
        const result = await live.next();
        if (result.done || comparePositions(result.value.position, last) > 0) return result;
      }
    },
    return: () => live.return!(),
    throw: (error?: unknown) => live.throw!(error),
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
