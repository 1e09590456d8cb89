// The DICOM-in watcher: follows Orthanc's /changes feed and turns each new frontal chest instance sent by a mapped
// calling AE title into a patient, study and image of that tenant with the tenant's analyses requested. The cursor
// lives in PostgreSQL and moves only past changes that were handled (ingested or recorded as skipped); a transient
// failure (PostgreSQL or Orthanc down) backs off and retries the same change. An instance that keeps failing for
// another reason is recorded once as FAILED and skipped, so one poison file cannot stop the feed.
import { createHmac, randomUUID } from "node:crypto";
import type { AnalysisTask, Repositories } from "../db/index.ts";
import { isImageError } from "../images/index.ts";
import type { ImageRecord } from "../images/ingest.ts";
import type { Logger } from "../logger/index.ts";
import { PLATFORM_MANUFACTURER } from "../interop/platform.ts";
import { classifyInstance, type SkipReason } from "./classify.ts";
import type { OrthancRest } from "./orthanc-rest.ts";

export interface PacsIngestOptions {
  pollMs: number;
  batchSize: number;
  /** instances larger than this are skipped before their file is fetched */
  maxInstanceBytes: number;
  /** attempts at one instance before it is recorded as FAILED and skipped */
  maxAttempts: number;
  backoff: { initialMs: number; maxMs: number };
  /** how long a pass's lease on the feed lasts (renewed before every change); a standby takes over after it */
  leaseMs?: number;
}

export interface TenantIngestPolicy {
  deidentify: boolean;
  /** key for pseudonymous UIDs, MRNs and accessions (per tenant) */
  uidKey: string;
}

export interface PacsIngestDeps {
  orthanc: OrthancRest;
  repos: Pick<Repositories, "pacsIngest" | "patients" | "studies" | "images" | "analyses" | "audit">;
  /** decode (with limits), de-identify and store: the upload path's ingest (orthancId: the instance in the PACS) */
  ingest(bytes: Uint8Array, policy: TenantIngestPolicy, orthancId: string): Promise<ImageRecord>;
  policyFor(tenantId: string): Promise<TenantIngestPolicy>;
  logger: Logger;
  options: PacsIngestOptions;
  /** one cursor per watched Orthanc */
  cursorId?: string;
  /** this replica's name in the lease (default: a random id per watcher) */
  holder?: string;
}

export interface PacsIngestWatcher {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** false while passes keep failing (Orthanc or PostgreSQL down); a standby replica is ready */
  ready(): boolean;
  /** whether this replica holds the feed's lease (it follows the feed; the others stand by) */
  leading(): boolean;
  /** one pass over the feed (tests); returns how many changes it moved past */
  runOnce(): Promise<number>;
}

interface IngestSource {
  tenantId: string;
  /** empty: all four */
  tasks: AnalysisTask[];
  question: string | null;
  /** recorded on the analyses: `pacs:<AE title>` or `stow:apikey:<id>` */
  requestedBy: string;
}

const DEFAULT_TASKS: AnalysisTask[] = ["CLASSIFICATION", "LOCALIZATION", "REPORT", "VQA"];
const DEFAULT_QUESTION = "Is there any abnormality in this chest radiograph?";

const pseudonym = (key: string, kind: string, value: string) =>
  `PACS-${createHmac("sha256", key).update(`${kind}:${value}`).digest("hex").slice(0, 12).toUpperCase()}`;

export function createPacsIngestWatcher(deps: PacsIngestDeps): PacsIngestWatcher {
  const { orthanc, repos, logger, options } = deps;
  const cursorId = deps.cursorId ?? "orthanc";
  const holder = deps.holder ?? randomUUID();
  // long enough that a slow instance (fetch + decode) does not lose it between renewals
  const leaseMs = options.leaseMs ?? Math.max(30_000, options.pollMs * 10);
  let leader = false;
  const attempts = new Map<string, number>();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let stopped = true;
  let failures = 0;
  let lastError: string | null = null;

  const skip = async (orthancId: string, tenantId: string | null, callingAet: string | null, reason: SkipReason) => {
    await repos.pacsIngest.record({ orthancId, tenantId, callingAet, outcome: "SKIPPED", reason });
    logger.info("pacs instance skipped", { orthancId, callingAet, reason });
  };

  // The platform writes to the same PACS (its SRs, and its stored images when IMAGE_STORE=pacs) over DICOMweb, with no
  // calling AE title: those are recognised by their Manufacturer and passed without a log row.
  const isPlatformOwn = async (orthancId: string) => {
    const tags = await orthanc.tags(orthancId);
    return typeof tags?.Manufacturer === "string" && tags.Manufacturer.trim() === PLATFORM_MANUFACTURER;
  };

  // Who sent it: a C-STORE names its calling AE title (mapped by PacsSource, with the title's rule); a STOW-RS through
  // the gateway has none, and its tenant is the one whose API key claimed it (PacsStowReceipt; all four tasks).
  const sourceOf = async (orthancId: string, callingAet: string | null): Promise<IngestSource | "own" | null> => {
    if (callingAet) {
      const mapped = await repos.pacsIngest.findSource(callingAet);
      return mapped && { ...mapped, requestedBy: `pacs:${callingAet}` };
    }
    const receipt = await repos.pacsIngest.findStowReceipt(orthancId);
    // an upload's original, stored by the platform itself (IMAGE_STORE=pacs): its upload is its way in
    if (receipt?.purpose === "UPLOAD") return "own";
    if (receipt) return { tenantId: receipt.tenantId, tasks: [], question: null, requestedBy: `stow:${receipt.actor}` };
    return (await isPlatformOwn(orthancId)) ? "own" : null;
  };

  async function handle(orthancId: string): Promise<void> {
    if (await repos.pacsIngest.handled(orthancId)) return; // replayed after a restart: once only
    const callingAet = await orthanc.remoteAet(orthancId);
    const source = await sourceOf(orthancId, callingAet);
    if (source === "own") return; // our own SR or stored image, not input
    if (!source) return skip(orthancId, null, callingAet, "UNKNOWN_SOURCE");
    const tenantId = source.tenantId;
    // limits before work: the size and the tags decide before a byte of the file is read
    const size = await orthanc.fileSize(orthancId);
    if (size === null) return skip(orthancId, tenantId, callingAet, "GONE");
    if (size > options.maxInstanceBytes) return skip(orthancId, tenantId, callingAet, "TOO_LARGE");
    const tags = await orthanc.tags(orthancId);
    if (!tags) return skip(orthancId, tenantId, callingAet, "GONE");
    const reason = classifyInstance(tags);
    if (reason) return skip(orthancId, tenantId, callingAet, reason);
    const bytes = await orthanc.file(orthancId);
    if (!bytes) return skip(orthancId, tenantId, callingAet, "GONE");
    const policy = await deps.policyFor(tenantId);
    let record: ImageRecord;
    try {
      record = await deps.ingest(bytes, policy, orthancId);
    } catch (error) {
      if (isImageError(error)) return skip(orthancId, tenantId, callingAet, "UNDECODABLE");
      throw error;
    }
    const str = (name: string) => (typeof tags[name] === "string" ? (tags[name] as string).trim() : "");
    const patientId = str("PatientID") || `orthanc-patient:${orthancId}`;
    const studyUid = str("StudyInstanceUID") || orthancId;
    const mrn = policy.deidentify ? pseudonym(policy.uidKey, "mrn", patientId) : patientId.slice(0, 64);
    const accessionRaw = str("AccessionNumber");
    const accession = policy.deidentify || !accessionRaw ? pseudonym(policy.uidKey, "study", accessionRaw || studyUid) : accessionRaw;
    const patient = await repos.patients.upsertByMrn({ tenantId, mrn });
    const study =
      (await repos.studies.findByAccession(tenantId, accession)) ??
      (await repos.studies
        .create({
          tenantId,
          patientId: patient.id,
          accession,
          modality: str("Modality") || "CR",
          studyInstanceUid: record.dicom?.studyInstanceUid ?? null,
          source: "PACS",
          sourceAet: callingAet,
        })
        .catch(async (error: unknown) => {
          // another pass created it first
          const again = await repos.studies.findByAccession(tenantId, accession);
          if (again) return again;
          throw error;
        }));
    const { image } = await repos.images.attach({
      tenantId,
      studyId: study.id,
      sha256: record.sha256,
      format: record.format,
      width: record.width,
      height: record.height,
      bytes: record.bytes,
      bitDepth: record.bitsStored,
      photometric: record.photometric,
      view: record.dicom?.viewPosition ?? null,
      seriesInstanceUid: record.dicom?.seriesInstanceUid ?? null,
      sopInstanceUid: record.dicom?.sopInstanceUid ?? null,
      storageKey: record.originalKey,
      derivedPngKey: record.displayKey,
      analysisKey: record.analysisKey,
    });
    const tasks = source.tasks.length ? source.tasks : DEFAULT_TASKS;
    const question = source.question ?? DEFAULT_QUESTION;
    // idempotency keys from the Orthanc instance: a retry after a crash here requests nothing twice
    await repos.analyses.requestAnalyses(
      tasks.map((task) => ({
        tenantId,
        studyId: study.id,
        imageId: image.id,
        task,
        question: task === "VQA" ? question : null,
        idempotencyKey: `pacs:${orthancId}:${task}`,
        requestedBy: source.requestedBy,
      })),
    );
    await repos.pacsIngest.record({ orthancId, tenantId, callingAet, outcome: "INGESTED", studyId: study.id, imageId: image.id });
    // the tenant's audit trail shows what arrived from outside, as it shows uploads and requests
    await repos.audit.record({
      tenantId,
      actor: "system:pacs-ingest",
      action: "pacs.ingest",
      targetType: "Study",
      targetId: study.id,
      details: { imageId: image.id, callingAet, via: callingAet ? "C-STORE" : "STOW-RS", tasks },
    });
    logger.info("pacs instance ingested", { orthancId, callingAet, studyId: study.id, imageId: image.id, tasks });
  }

  async function handleOrPoison(orthancId: string): Promise<void> {
    try {
      await handle(orthancId);
      attempts.delete(orthancId);
    } catch (error) {
      // an instance is poison only if it fails while both peers answer: with PostgreSQL or Orthanc down, every
      // instance would fail, and none of them may be skipped for it
      const peersUp = await Promise.all([repos.pacsIngest.readCursor(cursorId), orthanc.changes(0, 1)]).then(
        () => true,
        () => false,
      );
      const retriable = !peersUp || (error as { retriable?: boolean }).retriable === true || isDatabaseDown(error);
      if (retriable) throw error; // not this instance's fault: not counted against it
      const n = (attempts.get(orthancId) ?? 0) + 1;
      attempts.set(orthancId, n);
      if (n < options.maxAttempts) throw error;
      attempts.delete(orthancId);
      logger.error("pacs instance failed repeatedly: skipped", { orthancId, error: (error as Error).name });
      const callingAet = await orthanc.remoteAet(orthancId).catch(() => null);
      const source = await sourceOf(orthancId, callingAet).catch(() => null);
      await skip(orthancId, source && source !== "own" ? source.tenantId : null, callingAet, "FAILED");
    }
  }

  // Several gateways may run the watcher: the one holding the lease follows the feed, renewing it before each change
  // (so a replica that stalls past it cannot handle a change its successor handles too); the others stand by.
  const holdLease = async (): Promise<boolean> => {
    const had = leader;
    leader = await repos.pacsIngest.acquireLease(cursorId, holder, leaseMs);
    if (leader !== had) logger.info(leader ? "pacs ingest: following the feed" : "pacs ingest: standing by", { holder });
    return leader;
  };

  async function runOnce(): Promise<number> {
    if (!(await holdLease())) return 0;
    let since = await repos.pacsIngest.readCursor(cursorId);
    const { changes, last } = await orthanc.changes(since, options.batchSize);
    let moved = 0;
    for (const change of changes) {
      if (moved > 0 && !(await holdLease())) return moved;
      if (change.changeType === "NewInstance" && change.resourceType === "Instance") await handleOrPoison(change.id);
      since = change.seq;
      await repos.pacsIngest.writeCursor(cursorId, since);
      moved++;
    }
    if (changes.length === 0 && last > since) await repos.pacsIngest.writeCursor(cursorId, last);
    return moved;
  }

  function schedule(ms: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      running = runOnce()
        .then((moved) => {
          failures = 0;
          lastError = null;
          // a full batch: more is waiting, go on at once
          schedule(moved >= options.batchSize ? 0 : options.pollMs);
        })
        .catch((error: unknown) => {
          failures++;
          lastError = (error as { code?: string }).code ?? (error as Error).name;
          const delay = Math.min(options.backoff.maxMs, options.backoff.initialMs * 2 ** Math.min(failures - 1, 16));
          logger.warn("pacs ingest pass failed; retrying", { error: lastError, failures, retryInMs: delay });
          schedule(delay);
        });
    }, ms);
    timer.unref?.();
  }

  return {
    async start() {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running?.catch(() => undefined);
      // a standby takes over at its next poll instead of after the lease runs out
      if (leader) await repos.pacsIngest.releaseLease(cursorId, holder).catch(() => undefined);
      leader = false;
    },
    ready: () => failures === 0,
    leading: () => leader,
    runOnce,
  };
}

function isDatabaseDown(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? "";
  // Prisma connection errors (P1001 unreachable, P1017 closed, P2024 pool timeout) and PostgreSQL shutdown
  return ["P1001", "P1002", "P1008", "P1017", "P2024", "57P01", "ECONNREFUSED"].includes(code);
}
