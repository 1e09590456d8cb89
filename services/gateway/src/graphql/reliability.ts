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
  reliability?: { validated_on_real?: unknown } | null;
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
