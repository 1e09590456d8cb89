// Registers the loaded bundle as a ModelVersion row (name, version, sha256, manifest, metrics, trainedOn) if it
// is not there yet, so the console can list the models that produced results. An existing row is left alone
// (its status is the operators' to change).
import type { Repositories } from "../../../../lib/db/index.ts";
import type { Bundle } from "../bundle/load.ts";

const TRAINED_ON: Record<string, string> = {
  synthetic: "synthetic data (synthetic CXR generator): not for clinical use",
  real: "real chest X-rays",
  mixed: "synthetic and real chest X-rays",
};

export function registerModelVersion(
  models: Repositories["modelVersions"],
  bundle: Bundle,
): Promise<{ created: boolean; conflict: boolean }> {
  const m = bundle.manifest;
  return models.register({
    name: m.name,
    version: m.version,
    bundleSha256: bundle.bundleHash,
    manifest: JSON.parse(JSON.stringify(m)),
    metrics: m.metrics ?? {},
    trainedOn: TRAINED_ON[m.trained_on] ?? m.trained_on,
  });
}
