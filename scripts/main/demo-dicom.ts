// The demo's DICOM round trip, as a hospital would run it: the tenant's ADMIN maps a modality's calling AE title
// and asks for the grounded SR on completion (public API); the modality sends a frontal chest film to the PACS by
// C-STORE (dcmtk's storescu); the platform notices it in the PACS, analyses it without any GraphQL request, and
// stores its SR back into the PACS in the same study. The SR is counted only when the PACS itself holds it.
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { createPlatformClient, login, type PlatformClient } from "../../lib/client/index.ts";
import { createDicomWebClient } from "../../lib/interop/dicomweb/client.ts";
import type { PacsHandle } from "../../lib/stack/index.ts";

export const DEMO_CALLING_AET = "DEMO_MODALITY";

export interface DicomDemoSummary {
  /** studies that arrived by C-STORE and whose analyses all finished */
  via_dicom: number;
  /** SRs of those studies that the PACS holds in the same study */
  sr_stored: number;
  /** why the round trip did not run (no local PACS, no dcmtk, no demo ADMIN) */
  dicom_skipped?: string;
}

export interface DicomDemoOptions {
  baseUrl: string;
  admin: { email: string; password: string } | null;
  pacs: PacsHandle | null | undefined;
  /** a frontal chest DICOM file; the demo sends a copy with new UIDs */
  file: string;
  workDir: string;
  timeoutMs: number;
  log: (line: string) => void;
}

const MAP = `mutation($i: PacsSourceInput!) { setPacsSource(input: $i) { source { callingAeTitle } errors { code message } } }`;
const SETTINGS = `mutation($i: DeliverySettingsInput!) { updateDeliverySettings(input: $i) { settings { srMode } errors { code message } } }`;
const LOG = `query { pacsIngestLog(first: 20) { edges { node { callingAeTitle outcome reason studyId createdAt } } } }`;
const STUDY = `query($id: ID!) { study(id: $id) {
  source analyses { status } deliveries { kind status sentId lastError { code message } } } }`;

type Study = {
  source: string;
  analyses: { status: string }[];
  deliveries: { kind: string; status: string; sentId: string | null; lastError: { code: string; message: string } | null }[];
};

const hasTool = (name: string) => spawnSync(name, ["--version"], { stdio: "ignore" }).status === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Payload = { errors: { code: string; message: string }[] };
/** the fields of PacsIngestLog the demo reads (see LOG) */
type IngestEntry = { callingAeTitle: string; createdAt: string; outcome: string; reason: string | null; studyId: string | null };

function check<T extends { errors: { code: string; message: string }[] }>(what: string, payload: T): T {
  if (payload.errors.length) throw new Error(`${what}: ${payload.errors.map((e) => `${e.code} ${e.message}`).join("; ")}`);
  return payload;
}

async function poll<T>(what: string, deadline: number, probe: () => Promise<T | null>): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

export function dicomDemoSkipReason(options: Pick<DicomDemoOptions, "admin" | "pacs">): string | null {
  if (!options.pacs?.aeTitle || !options.pacs.dicomPort)
    return "no local PACS (Orthanc not installed, or ORTHANC_URL names an external one)";
  if (!options.admin) return "no demo ADMIN login (demo data not seeded)";
  if (!["storescu", "dcmodify", "dcmdump"].every(hasTool)) return "dcmtk (storescu, dcmodify, dcmdump) not installed: run npm run setup";
  return null;
}

export async function runDicomDemo(options: DicomDemoOptions): Promise<DicomDemoSummary> {
  const skipped = dicomDemoSkipReason(options);
  if (skipped) {
    options.log(`DICOM round trip skipped: ${skipped}`);
    return { via_dicom: 0, sr_stored: 0, dicom_skipped: skipped };
  }
  const pacs = options.pacs as PacsHandle & { aeTitle: string; dicomPort: number };
  const admin = options.admin as { email: string; password: string };
  const deadline = Date.now() + options.timeoutMs;

  const token = await login(options.baseUrl, admin.email, admin.password);
  const client: PlatformClient = createPlatformClient(options.baseUrl, { token });
  try {
    check(
      "mapping the demo modality",
      (await client.query<{ setPacsSource: Payload }>(MAP, { i: { callingAeTitle: DEMO_CALLING_AET, tasks: [] } })).setPacsSource,
    );
    check(
      "SR on completion",
      (await client.query<{ updateDeliverySettings: Payload }>(SETTINGS, { i: { srMode: "ON_COMPLETION" } })).updateDeliverySettings,
    );

    // a copy with new study, series and instance UIDs: every run is a new study in the PACS
    mkdirSync(options.workDir, { recursive: true });
    const copy = path.join(options.workDir, `demo-${Date.now()}.dcm`);
    copyFileSync(options.file, copy);
    execFileSync("dcmodify", ["-nb", "-gst", "-gse", "-gin", copy]);
    const sentStudyUid = /\[([0-9.]+)\]/.exec(execFileSync("dcmdump", ["+P", "0020,000d", copy], { encoding: "utf8" }))?.[1];
    if (!sentStudyUid) throw new Error("could not read the Study Instance UID of the film to send");
    const sentAt = Date.now() - 1000;
    // -xy: also propose JPEG baseline, so a JPEG-compressed film goes as it is
    execFileSync("storescu", ["-xy", "-aet", DEMO_CALLING_AET, "-aec", pacs.aeTitle, "127.0.0.1", String(pacs.dicomPort), copy]);
    options.log(`sent ${path.basename(options.file)} (new UIDs) to the PACS by C-STORE as ${DEMO_CALLING_AET}`);

    const entry = await poll("the PACS ingest of the sent film", deadline, async () => {
      const res = await client.query<{ pacsIngestLog: { edges: { node: IngestEntry }[] } }>(LOG);
      const mine = res.pacsIngestLog.edges
        .map((e) => e.node)
        .filter((n) => n.callingAeTitle === DEMO_CALLING_AET && Date.parse(n.createdAt) >= sentAt);
      const skippedEntry = mine.find((n) => n.outcome === "SKIPPED");
      if (skippedEntry) throw new Error(`the PACS ingest skipped the demo film: ${skippedEntry.reason}`);
      return mine.find((n) => n.outcome === "INGESTED" && n.studyId) ?? null;
    });
    const study = await poll("the C-STORE study's analyses and SR", deadline, async () => {
      const s = (await client.query<{ study: Study | null }>(STUDY, { id: entry.studyId })).study;
      if (!s || s.analyses.length === 0 || s.analyses.some((a) => !["SUCCEEDED", "FAILED", "CANCELLED"].includes(a.status))) return null;
      const sr = s.deliveries.filter((d) => d.kind === "SR");
      return sr.length > 0 && sr.every((d) => d.status !== "PENDING") ? s : null;
    });
    const succeeded = study.analyses.every((a) => a.status === "SUCCEEDED");
    const sent = study.deliveries.filter((d) => d.kind === "SR" && d.status === "SENT" && d.sentId);
    for (const d of study.deliveries.filter((d) => d.kind === "SR" && d.status === "FAILED")) {
      options.log(`SR delivery failed: ${d.lastError?.code} ${d.lastError?.message}`);
    }

    // counted only if the PACS holds it, in the study the film was sent in (the platform keeps the study under
    // pseudonymous UIDs when the tenant de-identifies; the SR goes back to the original study)
    const dicomweb = createDicomWebClient({
      baseUrl: `${pacs.url}/dicom-web`,
      credentials: pacs.username && pacs.password ? { username: pacs.username, password: pacs.password } : null,
    });
    const held = new Set((await dicomweb.searchInstances(sentStudyUid)).map((i) => String(i["00080018"]?.Value?.[0] ?? "")));
    const srStored = sent.filter((d) => held.has(d.sentId as string)).length;
    options.log(
      `C-STORE study: ${study.analyses.length} analyses ${succeeded ? "succeeded" : "not all succeeded"}, ` +
        `${srStored} SR in the PACS in the study it was sent in (${sentStudyUid})`,
    );
    return { via_dicom: succeeded ? 1 : 0, sr_stored: srStored };
  } finally {
    await client.close();
  }
}
