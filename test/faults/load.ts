// The suite's load, as a hospital app sends it through the public API: per study a patient, a study, an
// uploaded film (a distinct copy of a demo film, so that every study is a new image) and one request for all
// four tasks. Faults hit while this runs: every step is retried until the platform answers again, and the
// request carries an idempotency key, so a retried request never makes a second set of analyses.
import { readFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createPlatformClient } from "../../lib/client/index.ts";
import { REPO_ROOT } from "../../lib/db/migrate.ts";
import { decodeImage } from "../../workers/analysis/src/image/decode.ts";
import { variant, sha256 } from "../../bench/lib/inputs.ts";

const TASKS = ["CLASSIFICATION", "LOCALIZATION", "REPORT", "VQA"] as const;
const FILMS = ["demo/studies/real/00000075_000.png", "demo/studies/real/00000282_000.png", "demo/studies/synthetic/syn-2026-000027.png"];

export interface RequestedStudy {
  studyId: string;
  analysisIds: string[];
}

type Payload = { errors: { code: string; message: string }[] };

/** Retries `step` (network errors, 5xx, masked errors while a dependency is down) for up to `timeoutMs`. */
async function retry<T>(what: string, step: () => Promise<T>, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 200; ; wait = Math.min(wait * 2, 3000)) {
    try {
      return await step();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what} kept failing: ${(error as Error).message}`);
      await sleep(wait);
    }
  }
}

function ok<T extends Payload>(what: string, payload: T): T {
  if (payload.errors.length) throw new Error(`${what}: ${payload.errors.map((e) => `${e.code} ${e.message}`).join("; ")}`);
  return payload;
}

export async function requestStudies(options: {
  gatewayUrl: string;
  apiKey: string;
  studies: number;
  concurrency: number;
  runKey: string;
  onRequested: (study: RequestedStudy) => void;
}): Promise<void> {
  const client = createPlatformClient(options.gatewayUrl, { apiKey: options.apiKey });
  const bases = FILMS.map((file) => {
    const bytes = readFileSync(path.join(REPO_ROOT, file));
    return { name: path.basename(file), bytes, sha256: sha256(bytes), image: decodeImage(bytes) };
  });
  let next = 0;
  const one = async (n: number) => {
    const film = variant(bases[n % bases.length]!, n + 1);
    const mrn = `${options.runKey}-P${n}`;
    const patient = await retry("createPatient", async () => {
      const found = await client.query<{ patients: { edges: { node: { id: string; externalId: string } }[] } }>(
        `query($s: String!) { patients(first: 5, search: $s) { edges { node { id externalId } } } }`,
        { s: mrn },
      );
      const existing = found.patients.edges.find((e) => e.node.externalId === mrn);
      if (existing) return existing.node.id; // an earlier try committed but its answer was lost
      const created = await client.query<{ createPatient: Payload & { patient: { id: string } | null } }>(
        `mutation($input: CreatePatientInput!) { createPatient(input: $input) { patient { id } errors { code message } } }`,
        { input: { externalId: mrn } },
      );
      return ok("createPatient", created.createPatient).patient!.id;
    });
    const study = await retry("createStudy", async () => {
      const created = await client.query<{ createStudy: Payload & { study: { id: string } | null } }>(
        `mutation($input: CreateStudyInput!) { createStudy(input: $input) { study { id } errors { code message } } }`,
        { input: { patientId: patient, accessionNumber: `${options.runKey}-A${n}` } },
      );
      return ok("createStudy", created.createStudy).study!.id;
    });
    await retry("upload + attachImage", async () => {
      const current = await client.query<{ study: { images: { id: string }[] } | null }>(
        `query($id: ID!) { study(id: $id) { images { id } } }`,
        { id: study },
      );
      if (current.study?.images.length) return; // an earlier try attached it but its answer was lost
      const upload = await client.upload(new Uint8Array(film.bytes), `film-${n}.png`);
      const attached = await client.query<{ attachImage: Payload }>(
        `mutation($input: AttachImageInput!) { attachImage(input: $input) { image { id } errors { code message } } }`,
        { input: { studyId: study, uploadId: upload.uploadId } },
      );
      ok("attachImage", attached.attachImage);
    });
    const analyses = await retry("requestAnalyses", async () => {
      const response = await client.query<{ requestAnalyses: Payload & { analyses: { id: string }[] } }>(
        `mutation($input: RequestAnalysesInput!) { requestAnalyses(input: $input) { analyses { id } errors { code message field } } }`,
        { input: { studyId: study, tasks: TASKS, question: "Is there a pleural effusion?", idempotencyKey: `${options.runKey}-R${n}` } },
      );
      return ok("requestAnalyses", response.requestAnalyses).analyses.map((a) => a.id);
    });
    options.onRequested({ studyId: study, analysisIds: analyses });
  };
  const lane = async () => {
    while (next < options.studies) await one(next++);
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
}
