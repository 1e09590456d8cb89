// Gateway phase: a page of studies with everything nested (patient, images, analyses with their typed results)
// under concurrent clients on loopback, bounded by a request count and a duration; the database queries one
// request costs (the gateway's per-request counter, x-db-queries) for pages of 10 and 100, which must be equal
// (DataLoader batching: no N+1); the gateway's RSS while it serves.
//
// So that a page of 100 is full, filler studies are written straight through lib/db's repositories (the
// platform's own writers) with results copied from one real engine run: they are read-side fixtures; the
// worker is stopped first so that it does not also process their requests.
import type { BenchConfig } from "./config.ts";
import type { InferenceContext } from "./inference.ts";
import { QUESTION } from "./inference.ts";
import type { BenchImage } from "./lib/inputs.ts";
import { cpuSecondsOfTree, rssMiB } from "./lib/machine.ts";
import type { Platform } from "./lib/platform.ts";
import { latency, round, type Latency } from "./lib/stats.ts";
import { classificationRows, localizationRows, reportRows, vqaRow } from "../workers/analysis/src/loop/tasks.ts";

export const STUDIES_QUERY = `query Studies($first: Int!) {
  studies(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id accessionNumber status createdAt
      patient { id externalId }
      images { id width height format }
      analyses {
        id task status durationMs
        model { name version }
        result {
          __typename
          ... on ClassificationResult { findings { label probability positive regions { region weight } } }
          ... on LocalizationResult { boxes { label x1 y1 x2 y2 score } }
          ... on Report { reportFindings: findings impression sentences { index text labels } }
          ... on VqaAnswer { question answer confidence }
        }
      }
    } }
  }
}`;

export interface GatewayResults {
  clients: number;
  page_size: number;
  requests: number;
  errors: number;
  duration_s: number;
  gateway_rps: number;
  latency_ms: Latency;
  db_queries_per_request: Record<string, number>;
  /** one request alone (no concurrency), ms */
  single_request_ms: Record<string, number>;
  /** CPU ms per request during the load (gateway process, PostgreSQL server) */
  cpu_ms_per_request: { gateway: number; postgres: number };
  studies_returned: Record<string, number>;
  analyses_returned: Record<string, number>;
  total_studies: number;
  rss_mb: { gateway: number; gateway_hwm: number };
  filler_studies: number;
  filler_ms: number;
}

type Log = (line: string) => void;

async function seedFiller(
  cfg: BenchConfig,
  p: Platform,
  ctx: InferenceContext,
  image: BenchImage,
  log: Log,
): Promise<{ count: number; ms: number }> {
  const existing = await p.db.prisma.study.count({ where: { tenantId: p.tenantId } });
  const need = Math.max(0, cfg.gateway.fillerStudies - existing);
  if (need === 0) return { count: 0, ms: 0 };
  const t0 = performance.now();
  const template = await p.db.prisma.image.findFirst({ where: { tenantId: p.tenantId } });
  if (!template) throw new Error("no image to copy for the filler studies (the pipeline phase registers them)");
  const engine = ctx.engineFor(1);
  const enc = await engine.encode({ key: `filler-${image.sha256}`, image: image.image });
  const rows = {
    CLASSIFICATION: classificationRows(await engine.classify(enc)),
    LOCALIZATION: localizationRows(await engine.localize(enc)),
    REPORT: reportRows(await engine.report(enc)),
    VQA: vqaRow(await engine.vqa(enc, QUESTION)),
  };
  const provenance = { modelName: engine.model.name, modelVersion: engine.model.version, bundleSha256: engine.model.bundleHash };
  const { repos } = p;
  let i = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (i < need) {
        const n = i++;
        const patient = await repos.patients.create({ tenantId: p.tenantId, mrn: `filler-${Date.now().toString(36)}-${n}` });
        const study = await repos.studies.create({
          tenantId: p.tenantId,
          patientId: patient.id,
          accession: `F${n}-${Date.now().toString(36)}`,
        });
        const { image: img } = await repos.images.attach({
          tenantId: p.tenantId,
          studyId: study.id,
          sha256: template.sha256,
          format: template.format,
          width: template.width,
          height: template.height,
          bytes: template.bytes,
          bitDepth: template.bitDepth,
          storageKey: template.storageKey,
          derivedPngKey: template.derivedPngKey,
        });
        const outcomes = await repos.analyses.requestAnalyses(
          (["CLASSIFICATION", "LOCALIZATION", "REPORT", "VQA"] as const).map((task) => ({
            tenantId: p.tenantId,
            studyId: study.id,
            imageId: img.id,
            task,
            question: task === "VQA" ? QUESTION : null,
            idempotencyKey: `filler-${study.id}-${task}`,
          })),
        );
        for (const o of outcomes) {
          const id = o.analysis.id;
          if (o.analysis.task === "CLASSIFICATION") await repos.results.writeClassification(id, provenance, rows.CLASSIFICATION);
          else if (o.analysis.task === "LOCALIZATION") await repos.results.writeLocalization(id, provenance, rows.LOCALIZATION);
          else if (o.analysis.task === "REPORT") await repos.results.writeReport(id, provenance, rows.REPORT);
          else await repos.results.writeVqa(id, provenance, rows.VQA);
        }
      }
    }),
  );
  const ms = performance.now() - t0;
  log(`filler: ${need} studies with 4 results each in ${round(ms)} ms`);
  return { count: need, ms };
}

export async function runGatewayPhase(
  cfg: BenchConfig,
  p: Platform,
  ctx: InferenceContext,
  image: BenchImage,
  log: Log,
): Promise<GatewayResults> {
  await p.stopWorker();
  const filler = await seedFiller(cfg, p, ctx, image, log);

  const dbq: Record<string, number> = {};
  const single: Record<string, number> = {};
  const returned: Record<string, number> = {};
  const analyses: Record<string, number> = {};
  let total = 0;
  for (const first of [10, 100]) {
    await p.client.gql(STUDIES_QUERY, { first }); // first run of this shape: plans, caches
    const r = await p.client.gql(STUDIES_QUERY, { first });
    single[String(first)] = round(r.ms, 1);
    if (r.status !== 200 || r.errors?.length)
      throw new Error(`studies(first: ${first}) failed: ${r.status} ${JSON.stringify(r.errors).slice(0, 400)}`);
    const edges = r.data.studies.edges as { node: { analyses: unknown[] } }[];
    dbq[String(first)] = r.dbQueries;
    returned[String(first)] = edges.length;
    analyses[String(first)] = edges.reduce((a, e) => a + e.node.analyses.length, 0);
    total = r.data.studies.totalCount;
  }
  log(
    `db queries per request: page 10 → ${dbq["10"]}, page 100 → ${dbq["100"]} (studies ${returned["10"]}/${returned["100"]}, analyses ${analyses["10"]}/${analyses["100"]})`,
  );

  // warm-up, then the bounded load
  for (let i = 0; i < 5; i++) await p.client.gql(STUDIES_QUERY, { first: 10 });
  const lat: number[] = [];
  let errors = 0;
  let issued = 0;
  const rss = { gateway: 0, gateway_hwm: 0 };
  const sampler = setInterval(() => {
    const g = rssMiB(p.gateway.pid);
    if (g) (rss.gateway = Math.max(rss.gateway, g.rss)), (rss.gateway_hwm = Math.max(rss.gateway_hwm, g.hwm));
  }, 200);
  const pgPid = p.stack.postgres?.pid;
  const cpu0 = { gateway: cpuSecondsOfTree(p.gateway.pid), postgres: pgPid ? cpuSecondsOfTree(pgPid) : NaN };
  const deadline = performance.now() + cfg.gateway.seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: cfg.gateway.clients }, async () => {
      while (performance.now() < deadline && issued < cfg.gateway.maxRequests) {
        issued++;
        try {
          const r = await p.client.gql(STUDIES_QUERY, { first: 10 });
          if (r.status !== 200 || r.errors?.length) errors++;
          else lat.push(r.ms);
        } catch {
          errors++;
        }
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const cpuPerRequest = {
    gateway: round(((cpuSecondsOfTree(p.gateway.pid) - cpu0.gateway) * 1000) / Math.max(1, lat.length), 1),
    postgres: pgPid ? round(((cpuSecondsOfTree(pgPid) - cpu0.postgres) * 1000) / Math.max(1, lat.length), 1) : NaN,
  };
  const g = rssMiB(p.gateway.pid);
  if (g) (rss.gateway = Math.max(rss.gateway, g.rss)), (rss.gateway_hwm = Math.max(rss.gateway_hwm, g.hwm));
  const res: GatewayResults = {
    clients: cfg.gateway.clients,
    page_size: 10,
    requests: lat.length,
    errors,
    duration_s: round(wall, 2),
    gateway_rps: round(lat.length / wall, 1),
    latency_ms: latency(lat),
    db_queries_per_request: dbq,
    single_request_ms: single,
    cpu_ms_per_request: cpuPerRequest,
    studies_returned: returned,
    analyses_returned: analyses,
    total_studies: total,
    rss_mb: rss,
    filler_studies: filler.count,
    filler_ms: round(filler.ms),
  };
  log(
    `gateway: ${res.gateway_rps} req/s, p50 ${res.latency_ms.p50} ms, p95 ${res.latency_ms.p95} ms, ${errors} errors, RSS ${rss.gateway} MiB`,
  );
  return res;
}
