/** Picks the results the study page shows out of all of a study's analyses. */
import type { Analysis, AnalysisResult, AnalysisTask, Box, Finding, Reliability } from "../../types.ts";

type ResultOf<T extends AnalysisResult["__typename"]> = Extract<AnalysisResult, { __typename: T }>;

function newestFirst(a: Analysis, b: Analysis): number {
  return new Date(b.requestedAt).getTime() - new Date(a.requestedAt).getTime();
}

/** The newest analysis of each task, whatever its status (for the status strip). */
export function latestByTask(analyses: Analysis[]): Map<AnalysisTask, Analysis> {
  const out = new Map<AnalysisTask, Analysis>();
  for (const a of [...analyses].sort(newestFirst)) if (!out.has(a.task)) out.set(a.task, a);
  return out;
}

/** The newest successful result of a given kind. */
export function latestResult<T extends AnalysisResult["__typename"]>(analyses: Analysis[], typename: T): ResultOf<T> | null {
  for (const a of [...analyses].sort(newestFirst)) {
    if (a.status === "SUCCEEDED" && a.result?.__typename === typename) return a.result as ResultOf<T>;
  }
  return null;
}

export function vqaAnalyses(analyses: Analysis[]): Analysis[] {
  return analyses.filter((a) => a.task === "VQA").sort(newestFirst);
}

/** A box with the words drawn beside it. */
export type CaptionedBox = Box & { caption: string };

/**
 * The finding boxes worth drawing: those of findings the classification calls positive. The localization
 * head outlines every finding's hottest area, so unfiltered a normal film showed 13 boxes at a few percent.
 * Without a classification result there is nothing to filter by, and every box is shown.
 *
 * The caption gives the finding's calibrated probability, not the box's score: the score is the peak of the
 * finding's heatmap, near 1 on most films whatever the finding's probability, and drawn as "Edema 100%" it
 * read as certainty. Without a classification the caption names the score for what it is.
 */
export function positiveFindingBoxes(boxes: Box[], findings: Finding[] | null): CaptionedBox[] {
  if (!findings) return boxes.map((b) => ({ ...b, caption: `${b.label} (heatmap peak ${b.score.toFixed(2)})` }));
  const positive = new Map(findings.filter((f) => f.positive).map((f) => [f.label, f.probability]));
  return boxes
    .filter((b) => positive.has(b.label))
    .map((b) => ({ ...b, caption: `${b.label} ${(positive.get(b.label)! * 100).toFixed(0)}%` }));
}

/**
 * The reliability the page shows: that of the newest classification (the findings' own), else of the
 * newest successful analysis that has one. Every task on an image gets the same assessment.
 */
export function latestReliability(analyses: Analysis[]): Reliability | null {
  const done = [...analyses].sort(newestFirst).filter((a) => a.status === "SUCCEEDED" && a.reliability);
  return (done.find((a) => a.task === "CLASSIFICATION") ?? done[0])?.reliability ?? null;
}
