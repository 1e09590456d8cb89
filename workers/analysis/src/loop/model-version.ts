// Registers the loaded bundle as a ModelVersion row (name, version, sha256, manifest, metrics, trainedOn) if it
// is not there yet, so the console can list the models that produced results. An existing row is left alone
// (its status is the administrators' to change).
import type { PrismaClient } from "../../../../lib/db/generated/client.ts";
import type { Bundle } from "../bundle/load.ts";

const TRAINED_ON: Record<string, string> = {
  synthetic: "synthetic data (synthetic CXR generator): not for clinical use",
  real: "real chest X-rays",
  mixed: "synthetic and real chest X-rays",
};

export async function registerModelVersion(prisma: PrismaClient, bundle: Bundle): Promise<{ created: boolean; conflict: boolean }> {
  const m = bundle.manifest;
  // the first version of a model that serves results is ACTIVE; a later one waits as CANDIDATE for an admin
  const active = await prisma.modelVersion.count({ where: { name: m.name, status: "ACTIVE" } });
  const { count } = await prisma.modelVersion.createMany({
    data: [
      {
        name: m.name,
        version: m.version,
        bundleSha256: bundle.bundleHash,
        manifest: JSON.parse(JSON.stringify(m)) as object,
        metrics: (m.metrics ?? {}) as object,
        trainedOn: TRAINED_ON[m.trained_on] ?? m.trained_on,
        status: active > 0 ? "CANDIDATE" : "ACTIVE",
      },
    ],
    skipDuplicates: true,
  });
  if (count === 1) return { created: true, conflict: false };
  const existing = await prisma.modelVersion.findUnique({ where: { name_version: { name: m.name, version: m.version } } });
  // same name+version with other bytes: a re-export without a version bump (reported, not fatal)
  return { created: false, conflict: existing !== null && existing.bundleSha256 !== bundle.bundleHash };
}
