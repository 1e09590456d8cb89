// Small fixtures and waiting helpers for integration tests.
import { createHash } from "node:crypto";
import type { Repositories } from "../../lib/db/index.ts";
import type { IncomingMessage } from "../../lib/kafka/index.ts";
import type { TestCtx } from "./context.ts";

export interface SeededStudy {
  tenantId: string;
  patientId: string;
  studyId: string;
  imageId: string;
}

/** A tenant (unique slug), a patient, a study and one image record (no bytes stored). */
export async function seedStudy(repos: Repositories, label = "t"): Promise<SeededStudy> {
  const suffix = Math.random().toString(36).slice(2, 8);
  const tenant = await repos.tenants.create({ slug: `${label}-${suffix}`, name: `Tenant ${label}` });
  const patient = await repos.patients.create({ tenantId: tenant.id, mrn: `MRN-${suffix}` });
  const study = await repos.studies.create({ tenantId: tenant.id, patientId: patient.id, accession: `ACC-${suffix}`, modality: "DX" });
  const sha256 = createHash("sha256").update(suffix).digest("hex");
  const { image } = await repos.images.attach({
    tenantId: tenant.id,
    studyId: study.id,
    sha256,
    format: "PNG",
    width: 256,
    height: 256,
    bytes: 1234,
    bitDepth: 8,
    storageKey: `sha256/${sha256}`,
  });
  return { tenantId: tenant.id, patientId: patient.id, studyId: study.id, imageId: image.id };
}

/** Poll until `check` returns a value other than undefined/false. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A message sink for consumers: handle() pushes, until(n) waits for n messages. */
export function collectMessages() {
  const messages: IncomingMessage[] = [];
  return {
    messages,
    handle: async (message: IncomingMessage) => {
      messages.push(message);
    },
    until: (count: number, timeoutMs = 20_000) => waitFor(`${count} Kafka messages`, () => messages.length >= count && messages, timeoutMs),
  };
}

/** The committed offset of a consumer group on one partition of the requested topic (-1 when none). */
export async function committedOffset(ctx: TestCtx, groupId: string, partition: number): Promise<bigint> {
  const admin = await ctx.kafka.admin();
  try {
    const offsets = await admin.groupOffsets(groupId, ctx.topics.requested);
    return BigInt(offsets.find((o) => o.partition === partition)?.offset ?? "-1");
  } finally {
    await admin.disconnect();
  }
}
