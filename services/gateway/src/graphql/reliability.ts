// Reliability as the API shows it (model bundle contract, format version 2): the worker stores its
// assessment of the analysed image on the analysis row; the model version's trust facts come from the
// bundle manifest the worker registered. Older rows and version-1 manifests simply lack them.
import type { AnalysisModel, ReliabilityModel } from "./models.ts";

/** Analysis.reliability: null until the worker has assessed the image (and for results from before that existed). */
export function reliabilityOf(a: AnalysisModel): ReliabilityModel | null {
  if (!a.reliabilityLevel || a.reliabilityScore === null || a.reliabilityScore === undefined) return null;
  const reasons = Array.isArray(a.reliabilityReasons) ? (a.reliabilityReasons as unknown[]) : [];
  return {
    level: a.reliabilityLevel,
    score: a.reliabilityScore,
    reasons: reasons
      .filter((r): r is { code: unknown; message?: unknown } => typeof r === "object" && r !== null && "code" in r)
      .map((r) => ({ code: String(r.code), message: typeof r.message === "string" ? r.message : "" })),
    frontalProbability: a.frontalProbability ?? null,
    oodDistance: a.oodDistance ?? null,
  };
}

interface ManifestTrust {
  trained_on?: unknown;
  calibration?: unknown;
  reliability?: { validated_on_real?: unknown; real_metrics?: unknown } | null;
}

const asManifest = (manifest: unknown): ManifestTrust => (manifest && typeof manifest === "object" ? (manifest as ManifestTrust) : {});

export function trainingData(manifest: unknown): "SYNTHETIC" | "REAL" | "MIXED" | null {
  const t = asManifest(manifest).trained_on;
  return t === "synthetic" ? "SYNTHETIC" : t === "real" ? "REAL" : t === "mixed" ? "MIXED" : null;
}

export const isCalibrated = (manifest: unknown) => {
  const c = asManifest(manifest).calibration as { labels?: unknown } | undefined;
  return !!c && typeof c.labels === "object" && c.labels !== null && Object.keys(c.labels).length > 0;
};

export const checksInput = (manifest: unknown) => !!asManifest(manifest).reliability;

export function validatedOnReal(manifest: unknown): string[] {
  const v = asManifest(manifest).reliability?.validated_on_real;
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

export interface RealFilmMetricModel {
  label: string;
  auc: number;
  ciLow: number | null;
  ciHigh: number | null;
  baselineAuc: number | null;
  permutationP: number | null;
  positives: number | null;
  negatives: number | null;
  set: string;
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
const int = (v: unknown) => (Number.isInteger(v) ? (v as number) : null);

function realFilmFigure(label: string, raw: unknown): RealFilmMetricModel | null {
  if (!raw || typeof raw !== "object") return null;
  const f = raw as Record<string, unknown>;
  const auc = num(f.auc);
  if (auc === null) return null;
  return {
    label,
    auc,
    ciLow: num(f.ci_low),
    ciHigh: num(f.ci_high),
    baselineAuc: num(f.baseline_auc),
    permutationP: num(f.perm_p),
    positives: int(f.n_pos),
    negatives: int(f.n_neg),
    set: typeof f.set === "string" ? f.set : "unspecified",
  };
}

/**
 * ModelVersion.realFilmMetrics: the manifest's per-label real-film figures, weakest evidence included, by label;
 * a label's measurements on other sets (`other_sets`) follow its main figure, so a figure from one selection of
 * films never stands alone where another selection disagrees with it.
 */
export function realFilmMetrics(manifest: unknown): RealFilmMetricModel[] {
  const figures = asManifest(manifest).reliability?.real_metrics;
  if (!figures || typeof figures !== "object") return [];
  const out: RealFilmMetricModel[] = [];
  const labels = Object.keys(figures).sort((a, b) => a.localeCompare(b));
  for (const label of labels) {
    const raw = (figures as Record<string, unknown>)[label];
    const main = realFilmFigure(label, raw);
    if (!main) continue;
    out.push(main);
    const others = (raw as { other_sets?: unknown }).other_sets;
    if (!Array.isArray(others)) continue;
    for (const other of others) {
      const figure = realFilmFigure(label, other);
      if (figure) out.push(figure);
    }
  }
  return out;
}
