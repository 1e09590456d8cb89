// The transition tailer reads at once when woken after a quiet spell, and makes the wake-ups of a burst behind it
// share one later read: a lone transition is not held back by the coalescing window, and a burst still costs few
// reads. The window here is seconds long so that waiting it out (the behaviour before) and not waiting differ by
// far more than a slow machine's jitter.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger } from "../../lib/logger/index.ts";
import { createTransitionTailer } from "../../services/gateway/src/subscriptions/tailer.ts";
import { AnalysisUpdates } from "../../services/gateway/src/subscriptions/updates.ts";
import { createTestContext, seedStudy, waitFor } from "../helpers/index.ts";

const WINDOW_MS = 4000;

test("the tailer reads a wake-up after a quiet spell at once and a burst of wake-ups behind it in one more read", async (t) => {
  const ctx = await createTestContext(t);
  const s = await seedStudy(ctx.repos);
  let reads = 0;
  const log = {
    ...ctx.repos.transitions,
    readAfterWithAnalyses: (...args: Parameters<typeof ctx.repos.transitions.readAfterWithAnalyses>) => {
      reads++;
      return ctx.repos.transitions.readAfterWithAnalyses(...args);
    },
  };
  const updates = new AnalysisUpdates();
  const published: string[] = [];
  const fanOut = updates.publish.bind(updates);
  updates.publish = (m) => {
    published.push(m.analysis.id);
    fanOut(m);
  };
  const tailer = createTransitionTailer({
    log,
    updates,
    logger: createLogger("tailer-test", "error", () => undefined),
    options: { pollMs: 60_000, coalesceMs: WINDOW_MS, retentionMs: 86_400_000, pruneEveryMs: 86_400_000 },
  });
  await tailer.start();
  ctx.defer(() => tailer.stop());
  await new Promise((r) => setTimeout(r, 50));
  const request = async (key: string) => {
    await ctx.repos.analyses.requestAnalysis({
      tenantId: s.tenantId,
      studyId: s.studyId,
      imageId: s.imageId,
      task: "VQA",
      question: "Is there a pneumothorax?",
      idempotencyKey: key,
    });
    updates.changed();
  };

  const t0 = performance.now();
  await request("first");
  await waitFor("first transition delivered", () => published.length === 1, WINDOW_MS * 3);
  assert.ok(performance.now() - t0 < WINDOW_MS / 2, `delivered after ${Math.round(performance.now() - t0)} ms, not at once`);

  const before = reads;
  for (let i = 0; i < 5; i++) await request(`burst-${i}`);
  await waitFor("burst delivered", () => published.length === 6, WINDOW_MS * 3);
  assert.ok(reads - before <= 2, `the burst took ${reads - before} reads`);
});
