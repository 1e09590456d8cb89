// Registers the demo studies (demo/studies/manifest.json) through the public API, requests all four
// tasks for each and collects every result from a subscription, as a hospital application would.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createPlatformClient, type Credentials, type PlatformClient } from "../../lib/client/index.ts";

export interface DemoStudy {
  patient: string;
  accession: string;
  description: string;
  file: string;
  question: string;
  groundTruth?: string;
}

export interface AnalysisOutcome {
  id: string;
  accession: string;
  task: string;
  status: string;
  viaSubscription: boolean;
  latencyMs: number | null;
  /** the analysis's reliability level (OK / CAUTION / ABSTAIN), "-" before a result */
  trust: string;
  summary: string;
}

export interface DemoSummary {
  studies: number;
  analyses: number;
  succeeded: number;
  via_subscription: number;
  failed: number;
  p50_ms: number | null;
  p95_ms: number | null;
}

const TASKS = ["CLASSIFICATION", "LOCALIZATION", "REPORT", "VQA"] as const;
const TERMINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);

const FIND_STUDY = `query FindStudy($search: String!) {
  studies(first: 5, filter: { search: $search }) { edges { node { id accessionNumber images { id } } } }
  patients(first: 5, search: $search) { edges { node { id externalId } } }
}`;
const CREATE_PATIENT = `mutation($input: CreatePatientInput!) { createPatient(input: $input) { patient { id } errors { code message } } }`;
const CREATE_STUDY = `mutation($input: CreateStudyInput!) { createStudy(input: $input) { study { id } errors { code message } } }`;
const ATTACH = `mutation($input: AttachImageInput!) { attachImage(input: $input) { image { id width height format } errors { code message } } }`;
const REQUEST = `mutation($input: RequestAnalysesInput!) {
  requestAnalyses(input: $input) { analyses { id task status } errors { code message field } }
}`;
const UPDATES = `subscription { tenantAnalysisUpdates { status at analysis { id task status } } }`;
const RESULTS = `query Results($id: ID!) {
  analysis(id: $id) {
    id task status errorCode errorMessage durationMs
    model { name version }
    reliability { level }
    result {
      __typename
      ... on ClassificationResult { findings { label probability threshold positive regions { region weight } } }
      ... on LocalizationResult { boxes { label x1 y1 x2 y2 score } }
      ... on Report { impression findingsText: findings }
      ... on VqaAnswer { question answer confidence }
    }
  }
}`;

function fail(what: string, errors: { code: string; message: string }[]): never {
  throw new Error(`${what}: ${errors.map((e) => `${e.code} ${e.message}`).join("; ")}`);
}

/** Finds or creates the patient, study and image of one demo study; returns the study id. */
async function registerStudy(client: PlatformClient, root: string, study: DemoStudy): Promise<string> {
  const found = await client.query<{
    studies: { edges: { node: { id: string; accessionNumber: string | null; images: { id: string }[] } }[] };
    patients: { edges: { node: { id: string; externalId: string } }[] };
  }>(FIND_STUDY, { search: study.accession });
  const existing = found.studies.edges.find((e) => e.node.accessionNumber === study.accession);
  if (existing && existing.node.images.length > 0) return existing.node.id;

  let studyId = existing?.node.id;
  if (!studyId) {
    const patients = await client.query<{ patients: { edges: { node: { id: string; externalId: string } }[] } }>(
      `query($s: String!) { patients(first: 5, search: $s) { edges { node { id externalId } } } }`,
      { s: study.patient },
    );
    let patientId = patients.patients.edges.find((e) => e.node.externalId === study.patient)?.node.id;
    if (!patientId) {
      const created = await client.query<{
        createPatient: { patient: { id: string } | null; errors: { code: string; message: string }[] };
      }>(CREATE_PATIENT, { input: { externalId: study.patient, displayName: `Demo ${study.patient}` } });
      if (!created.createPatient.patient) fail(`createPatient ${study.patient}`, created.createPatient.errors);
      patientId = created.createPatient.patient.id;
    }
    const createdStudy = await client.query<{ createStudy: { study: { id: string } | null; errors: { code: string; message: string }[] } }>(
      CREATE_STUDY,
      { input: { patientId, accessionNumber: study.accession, description: study.description } },
    );
    if (!createdStudy.createStudy.study) fail(`createStudy ${study.accession}`, createdStudy.createStudy.errors);
    studyId = createdStudy.createStudy.study.id;
  }
  const upload = await client.uploadFile(path.join(root, study.file));
  const attached = await client.query<{ attachImage: { image: { id: string } | null; errors: { code: string; message: string }[] } }>(
    ATTACH,
    { input: { studyId, uploadId: upload.uploadId } },
  );
  if (!attached.attachImage.image) fail(`attachImage ${study.file}`, attached.attachImage.errors);
  return studyId;
}

function summarise(result: Record<string, unknown> | null): string {
  if (!result) return "";
  switch (result.__typename) {
    case "ClassificationResult": {
      const findings = result.findings as { label: string; probability: number; positive: boolean }[];
      const top = [...findings].sort((a, b) => b.probability - a.probability).slice(0, 3);
      return top.map((f) => `${f.label} ${f.probability.toFixed(2)}${f.positive ? "+" : ""}`).join(", ");
    }
    case "LocalizationResult": {
      const boxes = [...(result.boxes as { label: string; score: number }[])].sort((a, b) => b.score - a.score);
      return boxes.length
        ? boxes
            .slice(0, 3)
            // the heatmap's peak (where), not the finding's probability (the CLASSIFICATION row has that)
            .map((b) => `${b.label} peak ${b.score.toFixed(2)}`)
            .join(", ")
        : "no boxes";
    }
    case "Report":
      return String(result.impression || result.findingsText || "(empty report)")
        .replace(/\s+/g, " ")
        .slice(0, 90);
    case "VqaAnswer":
      return `${String(result.question)} → ${String(result.answer)} (${Number(result.confidence).toFixed(2)})`;
    default:
      return "";
  }
}

function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);
}

export async function loadDemoManifest(root: string): Promise<DemoStudy[]> {
  const manifest = JSON.parse(await readFile(path.join(root, "manifest.json"), "utf8")) as { studies: DemoStudy[] };
  return manifest.studies;
}

/**
 * Registers every demo study and requests all four tasks with `runKey` in the idempotency keys: the same
 * key again returns the existing analyses (nothing new to wait for), a new key analyses again.
 */
export async function runDemoStudies(options: {
  baseUrl: string;
  credentials: Credentials;
  root: string;
  runKey: string;
  timeoutMs: number;
  log: (line: string) => void;
}): Promise<{ outcomes: AnalysisOutcome[]; summary: DemoSummary }> {
  const client = createPlatformClient(options.baseUrl, options.credentials);
  const studies = await loadDemoManifest(options.root);
  const pending = new Map<string, { accession: string; task: string; requestedAt: number }>();
  const arrived = new Map<string, { status: string; at: number }>();
  const early: { id: string; status: string; at: number }[] = [];
  let settle: (() => void) | null = null;

  const unsubscribe = client.subscribe<{ tenantAnalysisUpdates: { status: string; analysis: { id: string } } }>(
    UPDATES,
    {},
    (data) => {
      const update = data.tenantAnalysisUpdates;
      if (!TERMINAL.has(update.status)) return;
      const at = performance.now();
      if (!pending.has(update.analysis.id)) early.push({ id: update.analysis.id, status: update.status, at });
      else if (!arrived.has(update.analysis.id)) arrived.set(update.analysis.id, { status: update.status, at });
      if (arrived.size >= pending.size) settle?.();
    },
    (error) => options.log(`subscription error: ${JSON.stringify(error)}`),
  );
  // graphql-ws connects lazily; give the server a moment to register the subscription before requesting.
  await new Promise((r) => setTimeout(r, 1500));

  try {
    for (const study of studies) {
      const studyId = await registerStudy(client, options.root, study);
      const requestedAt = performance.now();
      const response = await client.query<{
        requestAnalyses: { analyses: { id: string; task: string; status: string }[]; errors: { code: string; message: string }[] };
      }>(REQUEST, { input: { studyId, tasks: TASKS, question: study.question, idempotencyKey: `${options.runKey}:${study.accession}` } });
      if (response.requestAnalyses.errors.length) fail(`requestAnalyses ${study.accession}`, response.requestAnalyses.errors);
      for (const analysis of response.requestAnalyses.analyses) {
        pending.set(analysis.id, { accession: study.accession, task: analysis.task, requestedAt });
      }
      options.log(`requested ${response.requestAnalyses.analyses.length} analyses for ${study.accession} (${study.description})`);
    }
    // Completions that raced ahead of the mutation's response still count: they came by subscription.
    for (const e of early) if (pending.has(e.id) && !arrived.has(e.id)) arrived.set(e.id, { status: e.status, at: e.at });

    if (arrived.size < pending.size) {
      await new Promise<void>((resolve) => {
        settle = resolve;
        setTimeout(resolve, options.timeoutMs).unref();
      });
    }
  } finally {
    unsubscribe();
  }

  const outcomes: AnalysisOutcome[] = [];
  for (const [id, request] of pending) {
    const got = arrived.get(id);
    const data = await client.query<{
      analysis: {
        status: string;
        errorMessage: string | null;
        reliability: { level: string } | null;
        result: Record<string, unknown> | null;
      };
    }>(RESULTS, { id });
    outcomes.push({
      id,
      accession: request.accession,
      task: request.task,
      status: data.analysis.status,
      viaSubscription: Boolean(got),
      latencyMs: got ? got.at - request.requestedAt : null,
      trust: data.analysis.reliability?.level ?? "-",
      summary: data.analysis.status === "FAILED" ? `error: ${data.analysis.errorMessage}` : summarise(data.analysis.result),
    });
  }
  await client.close();

  const latencies = outcomes.filter((o) => o.latencyMs !== null).map((o) => o.latencyMs!);
  const summary: DemoSummary = {
    studies: studies.length,
    analyses: outcomes.length,
    succeeded: outcomes.filter((o) => o.status === "SUCCEEDED").length,
    via_subscription: outcomes.filter((o) => o.viaSubscription).length,
    failed: outcomes.filter((o) => o.status === "FAILED").length,
    p50_ms: percentile(latencies, 50),
    p95_ms: percentile(latencies, 95),
  };
  return { outcomes, summary };
}

export function formatTable(outcomes: AnalysisOutcome[]): string {
  const rows = [["study", "task", "status", "sub", "ms", "trust", "result"]];
  for (const o of outcomes) {
    rows.push([
      o.accession,
      o.task,
      o.status,
      o.viaSubscription ? "yes" : "no",
      o.latencyMs === null ? "-" : String(Math.round(o.latencyMs)),
      o.trust,
      o.summary,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.min(i === 6 ? 100 : 40, Math.max(...rows.map((r) => r[i]!.length))));
  return rows.map((r) => r.map((cell, i) => cell.slice(0, widths[i]).padEnd(widths[i]!)).join("  ")).join("\n");
}
