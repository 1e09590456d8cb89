// Pipeline phase: studies through the whole platform — GraphQL requestAnalyses (4 tasks) → outbox → Kafka →
// worker → PostgreSQL → AnalysisCompleted → gateway → graphql-ws subscription message — against the bare model
// doing the same work (encoder + 4 tasks per image, batched as the worker is configured) in this process.
// Each round: K new studies requested at once through the platform, then (or before: the order alternates)
// the bare model on the same K images. Registration (upload, patient, study, image) happens before the clock.
import type { BenchConfig } from "./config.ts";
import type { InferenceContext } from "./inference.ts";
import { QUESTION } from "./inference.ts";
import { uniqueImages, type BenchImage } from "./lib/inputs.ts";
import { cpuSecondsOfTree, rssMiB } from "./lib/machine.ts";
import type { Platform } from "./lib/platform.ts";
import { latency, round, spread, type Latency, type Spread } from "./lib/stats.ts";

export interface PipelineResults {
  studies_per_round: number;
  rounds: number;
  worker_batch: number;
  platform_studies_per_s: Spread;
  bare_studies_per_s: Spread;
  pipeline_efficiency: Spread;
  /** request sent → 4th SUCCEEDED subscription message of the study, under the round's load */
  e2e_ms: Latency;
  /** one study at a time (no queueing) */
  e2e_unloaded_ms: Latency;
  /** where one analysis's time goes, for the lone studies and under the rounds' load */
  stages: { unloaded: StageBreakdown; loaded: StageBreakdown };
  failed_analyses: number;
  rss_mb: { gateway: number; worker: number; gateway_hwm: number; worker_hwm: number };
  worker_stats: unknown;
  /** worker processes in the consumer group during the rounds, and each one's /stats */
  worker_processes: number;
  all_worker_stats: unknown[];
  register_ms_per_study: number;
  /** CPU ms per study (user + system, all threads and child processes) while the platform rounds ran, and the
   *  bare model's CPU ms per study in its rounds: on a machine with few cores this bounds the efficiency */
  cpu_ms_per_study: Record<string, number>;
  /** statements clients sent per study in the loaded rounds (pg_stat_statements at top level, BEGIN/COMMIT
   *  included, nested trigger statements not; each is one round trip), null when the extension is unavailable */
  db_roundtrips_per_study: number | null;
  /** the statements behind that figure, most frequent first: calls per study and the statement's text */
  /** calls per study and PostgreSQL execution time per study (pg_stat_statements total_exec_time; absent in
   *  results written before it was measured, which bench/render.ts may re-render) */
  db_statements_per_study: { calls: number; exec_ms?: number; query: string }[];
}

type Log = (line: string) => void;

const REGISTER = {
  patient: `mutation($i: CreatePatientInput!) { createPatient(input: $i) { patient { id } errors { code message } } }`,
  study: `mutation($i: CreateStudyInput!) { createStudy(input: $i) { study { id } errors { code message } } }`,
  attach: `mutation($i: AttachImageInput!) { attachImage(input: $i) { image { id } errors { code message } } }`,
  request: `mutation($i: RequestAnalysesInput!) { requestAnalyses(input: $i) { analyses { id task status } errors { code message field } } }`,
};

interface Registered {
  studyId: string;
  imageId: string;
  image: BenchImage;
  tensor: Float32Array;
}

export async function registerStudies(p: Platform, images: BenchImage[], tag: string, ctx: InferenceContext): Promise<Registered[]> {
  const out: Registered[] = [];
  const engine = ctx.engineFor(1);
  let i = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (i < images.length) {
        const im = images[i++]!;
        const uploadId = await p.client.upload(im.bytes);
        const patient = await p.client.must(REGISTER.patient, {
          i: { externalId: `${tag}-${im.sha256.slice(0, 12)}`, displayName: "Bench Patient" },
        });
        const study = await p.client.must(REGISTER.study, {
          i: { patientId: patient.createPatient.patient.id, accessionNumber: `${tag}-${out.length}-${im.sha256.slice(0, 8)}` },
        });
        const studyId = study.createStudy.study.id as string;
        const attached = await p.client.must(REGISTER.attach, { i: { studyId, uploadId } });
        out.push({ studyId, imageId: attached.attachImage.image.id, image: im, tensor: engine.preprocess(im.image).tensor });
      }
    }),
  );
  return out;
}

/** Watches the tenant's subscription; resolves a study once all 4 of its analyses reported SUCCEEDED/FAILED. */
function watchCompletions(p: Platform) {
  const analysisToStudy = new Map<string, string>();
  const remaining = new Map<string, number>();
  const waiters = new Map<string, (at: number) => void>();
  /** wall-clock ms at which each analysis's terminal message arrived (compared with the database's timestamps) */
  const receivedAt = new Map<string, number>();
  let failed = 0;
  const ws = p.client.ws();
  const ready = new Promise<void>((resolve) => ws.on("connected", () => resolve()));
  const dispose = ws.subscribe<{ tenantAnalysisUpdates: { status: string; analysis: { id: string } } }>(
    { query: `subscription { tenantAnalysisUpdates { status analysis { id } } }` },
    {
      next: (msg) => {
        const at = performance.now();
        const u = msg.data?.tenantAnalysisUpdates;
        if (!u || (u.status !== "SUCCEEDED" && u.status !== "FAILED")) return;
        if (u.status === "FAILED") failed++;
        receivedAt.set(u.analysis.id, Date.now());
        const study = analysisToStudy.get(u.analysis.id);
        if (!study) return;
        analysisToStudy.delete(u.analysis.id);
        const left = (remaining.get(study) ?? 1) - 1;
        remaining.set(study, left);
        if (left === 0) waiters.get(study)?.(at);
      },
      error: (e) => console.error("[bench] subscription error", e),
      complete: () => undefined,
    },
  );
  return {
    ready,
    failed: () => failed,
    receivedAt,
    /** registers the analyses of a study; the promise resolves at the last one's subscription message */
    expect(studyId: string, analysisIds: string[]): Promise<number> {
      remaining.set(studyId, analysisIds.length);
      for (const id of analysisIds) analysisToStudy.set(id, studyId);
      return new Promise((resolve) => waiters.set(studyId, resolve));
    },
    async close() {
      dispose();
      await ws.dispose();
    },
  };
}

interface Requested {
  sent: number;
  /** ms the requestAnalyses mutation took */
  mutationMs: number;
  ids: string[];
  done: Promise<number>;
}

async function requestStudy(p: Platform, watch: ReturnType<typeof watchCompletions>, s: Registered, key: string): Promise<Requested> {
  const sent = performance.now();
  const r = await p.client.must(REGISTER.request, {
    i: {
      studyId: s.studyId,
      imageId: s.imageId,
      tasks: ["CLASSIFICATION", "LOCALIZATION", "REPORT", "VQA"],
      question: QUESTION,
      idempotencyKey: key,
    },
  });
  const ids = (r.requestAnalyses.analyses as { id: string }[]).map((a) => a.id);
  return { sent, mutationMs: performance.now() - sent, ids, done: watch.expect(s.studyId, ids) };
}

export interface StageBreakdown {
  /** requestAnalyses round trip (analysis rows + outbox rows committed) */
  mutation_ms: Latency;
  /** requestedAt → startedAt: outbox relay, Kafka, and waiting behind earlier messages of the partition */
  queued_ms: Latency;
  /** startedAt → finishedAt: the worker's message handling (image, encoder or its cache, head, result write) */
  worker_ms: Latency;
  /** finishedAt → subscription message: outbox relay, Kafka, the gateway's consumer, graphql-ws */
  notify_ms: Latency;
  /** the n-th task of a study to start (by startedAt) waited this long in the queue, p50 per position */
  queued_by_position_ms: number[];
}

/** Splits each analysis's time using the database's timestamps and the bench's receive times (same clock). */
async function stages(p: Platform, watch: ReturnType<typeof watchCompletions>, reqs: Requested[]): Promise<StageBreakdown> {
  const ids = reqs.flatMap((r) => r.ids);
  const rows = await p.db.prisma.analysis.findMany({
    where: { id: { in: ids } },
    select: { id: true, studyId: true, requestedAt: true, startedAt: true, finishedAt: true },
  });
  const queued: number[] = [];
  const work: number[] = [];
  const notify: number[] = [];
  const byPos: number[][] = [[], [], [], []];
  const byStudy = new Map<string, typeof rows>();
  for (const a of rows) {
    if (!a.startedAt || !a.finishedAt) continue;
    queued.push(a.startedAt.getTime() - a.requestedAt.getTime());
    work.push(a.finishedAt.getTime() - a.startedAt.getTime());
    const got = watch.receivedAt.get(a.id);
    if (got) notify.push(got - a.finishedAt.getTime());
    byStudy.set(a.studyId, [...(byStudy.get(a.studyId) ?? []), a]);
  }
  for (const list of byStudy.values()) {
    list.sort((x, y) => x.startedAt!.getTime() - y.startedAt!.getTime());
    list.forEach((a, i) => {
      byPos[Math.min(i, 3)]!.push(a.startedAt!.getTime() - a.requestedAt.getTime());
    });
  }
  return {
    mutation_ms: latency(reqs.map((r) => r.mutationMs)),
    queued_ms: latency(queued),
    worker_ms: latency(work),
    notify_ms: latency(notify),
    queued_by_position_ms: byPos.map((v) => latency(v).p50),
  };
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${what}: no completion within ${ms} ms`)), ms).unref())]);

export async function runPipelinePhase(
  cfg: BenchConfig,
  p: Platform,
  ctx: InferenceContext,
  base: BenchImage[],
  log: Log,
  /** first image variant to use: a second run must not meet the first run's images in the encoder cache */
  imageOffset = 0,
): Promise<PipelineResults> {
  const K = cfg.studies;
  const R = cfg.pipelineRounds;
  const unloadedN = 3;
  const t0 = performance.now();
  const images = uniqueImages(base, 1 + unloadedN + K * R, imageOffset);
  const all = await registerStudies(p, images, `bench${Date.now().toString(36)}`, ctx);
  const registerMs = (performance.now() - t0) / all.length;
  log(`registered ${all.length} studies (${round(registerMs)} ms each: upload + patient + study + image)`);
  const watch = watchCompletions(p);
  await withTimeout(watch.ready, 30_000, "subscription connect");

  // RSS sampling of both processes while the platform works
  const rss = { gateway: 0, worker: 0, gateway_hwm: 0, worker_hwm: 0 };
  const sample = () => {
    const g = rssMiB(p.gateway.pid);
    const w = p.worker ? rssMiB(p.worker.pid) : null;
    if (g) {
      rss.gateway = Math.max(rss.gateway, g.rss);
      rss.gateway_hwm = Math.max(rss.gateway_hwm, g.hwm);
    }
    if (w) {
      rss.worker = Math.max(rss.worker, w.rss);
      rss.worker_hwm = Math.max(rss.worker_hwm, w.hwm);
    }
  };
  const sampler = setInterval(sample, 250);

  try {
    let next = 0;
    // warm-up: the first study pays for consumer-group joins, first-run allocations, JIT
    {
      const s = all[next++]!;
      const r = await requestStudy(p, watch, s, `warm-${s.studyId}`);
      await withTimeout(r.done, 300_000, "warm-up study");
      log(`warm-up study done in ${round((await r.done) - r.sent)} ms`);
    }
    const unloaded: number[] = [];
    const soloReqs: Requested[] = [];
    for (let i = 0; i < unloadedN; i++) {
      const s = all[next++]!;
      const r = await requestStudy(p, watch, s, `solo-${s.studyId}`);
      unloaded.push((await withTimeout(r.done, 300_000, "single study")) - r.sent);
      soloReqs.push(r);
    }
    const loadedReqs: Requested[] = [];
    log(`unloaded e2e: ${unloaded.map((v) => round(v)).join(", ")} ms`);

    const pids: Record<string, number | undefined> = {
      gateway: p.gateway.pid,
      ...Object.fromEntries(p.workers.map((w, i) => [i === 0 ? "worker" : `worker ${i + 1}`, w.service.pid])),
      postgres: p.stack.postgres?.pid,
      kafka: p.stack.kafka?.pid,
    };
    const cpu: Record<string, number> = {};
    const statements = await statementCounter(p);
    let roundTrips = 0;
    const byStatement = new Map<string, { calls: number; execMs: number; query: string }>();
    const cpuNow = () => Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, pid ? cpuSecondsOfTree(pid) : NaN]));
    let bareCpuMs = 0;
    const platformSps: number[] = [];
    const bareSps: number[] = [];
    const eff: number[] = [];
    const e2e: number[] = [];
    for (let r = 0; r < R; r++) {
      const batch = all.slice(next, next + K);
      next += K;
      const platformRound = async () => {
        const before = cpuNow();
        const statementsBefore = await statements.count();
        const snapshotBefore = await statements.snapshot();
        const own = process.cpuUsage();
        const start = performance.now();
        const reqs = await Promise.all(batch.map((s) => requestStudy(p, watch, s, `r${r}-${s.studyId}`)));
        const ends = await withTimeout(Promise.all(reqs.map((q) => q.done)), 600_000, `round ${r + 1}`);
        reqs.forEach((q, i) => {
          e2e.push(ends[i]! - q.sent);
        });
        loadedReqs.push(...reqs);
        const after = cpuNow();
        roundTrips += (await statements.count()) - statementsBefore - statements.ownPerCount;
        for (const [id, now] of await statements.snapshot()) {
          const was = snapshotBefore.get(id);
          const delta = now.calls - (was?.calls ?? 0);
          if (delta > 0)
            byStatement.set(id, {
              query: now.query,
              calls: (byStatement.get(id)?.calls ?? 0) + delta,
              execMs: (byStatement.get(id)?.execMs ?? 0) + now.execMs - (was?.execMs ?? 0),
            });
        }
        for (const k of Object.keys(pids)) cpu[k] = (cpu[k] ?? 0) + (after[k]! - before[k]!) * 1000;
        const u = process.cpuUsage(own);
        cpu["bench client (this process)"] = (cpu["bench client (this process)"] ?? 0) + (u.user + u.system) / 1000;
        return (K / (Math.max(...ends) - start)) * 1000;
      };
      const bareRound = async () => {
        const own = process.cpuUsage();
        const start = performance.now();
        for (let i = 0; i < batch.length; i += cfg.workerBatch) {
          await ctx.bare.allTasks(
            batch.slice(i, i + cfg.workerBatch).map((s) => s.tensor),
            ctx.question,
            ctx.decode,
          );
        }
        const u = process.cpuUsage(own);
        bareCpuMs += (u.user + u.system) / 1000;
        return (K / (performance.now() - start)) * 1000;
      };
      let ps: number;
      let bs: number;
      if (r % 2 === 0) {
        ps = await platformRound();
        bs = await bareRound();
      } else {
        bs = await bareRound();
        ps = await platformRound();
      }
      platformSps.push(ps);
      bareSps.push(bs);
      eff.push(ps / bs);
      log(`pipeline round ${r + 1}/${R}: platform ${round(ps, 3)} studies/s, bare ${round(bs, 3)} studies/s → ${round(ps / bs, 3)}`);
    }
    sample();
    let workerStats: unknown = null;
    const allStats: unknown[] = [];
    for (const w of p.workers) {
      try {
        allStats.push(await (await fetch(`${w.url}/stats`)).json());
      } catch {
        /* optional */
      }
    }
    workerStats = allStats[0] ?? null;
    return {
      studies_per_round: K,
      rounds: R,
      worker_batch: cfg.workerBatch,
      platform_studies_per_s: spread(platformSps),
      bare_studies_per_s: spread(bareSps),
      pipeline_efficiency: spread(eff),
      e2e_ms: latency(e2e),
      e2e_unloaded_ms: latency(unloaded),
      stages: { unloaded: await stages(p, watch, soloReqs), loaded: await stages(p, watch, loadedReqs) },
      failed_analyses: watch.failed(),
      rss_mb: rss,
      worker_stats: workerStats,
      worker_processes: p.workers.length,
      all_worker_stats: allStats,
      register_ms_per_study: round(registerMs),
      cpu_ms_per_study: {
        ...Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round(v / (K * R), 1)])),
        "platform total (gateway + worker + postgres + kafka)": round(
          Object.entries(cpu)
            .filter(([k]) => k === "gateway" || k.startsWith("worker") || k === "postgres" || k === "kafka")
            .reduce((a, [, v]) => a + v, 0) /
            (K * R),
          1,
        ),
        "bare model": round(bareCpuMs / (K * R), 1),
      },
      db_roundtrips_per_study: statements.available ? round(roundTrips / (K * R), 1) : null,
      db_statements_per_study: [...byStatement.values()]
        .sort((a, b) => b.calls - a.calls)
        .slice(0, 25)
        .map((x) => ({
          calls: round(x.calls / (K * R), 2),
          exec_ms: round(x.execMs / (K * R), 2),
          query: x.query.replace(/\s+/g, " ").slice(0, 160),
        })),
    };
  } finally {
    clearInterval(sampler);
    await watch.close();
  }
}

/** Statements executed in the platform's database so far (pg_stat_statements, started by bench/lib/platform.ts). */
async function statementCounter(p: Platform): Promise<{
  available: boolean;
  ownPerCount: number;
  count(): Promise<number>;
  snapshot(): Promise<Map<string, { calls: number; execMs: number; query: string }>>;
}> {
  try {
    await p.db.prisma.$executeRawUnsafe("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
  } catch {
    return { available: false, ownPerCount: 0, count: async () => 0, snapshot: async () => new Map() };
  }
  const snapshot = async () => {
    const rows = await p.db.prisma.$queryRaw<{ id: string; calls: bigint; exec_ms: number; query: string }[]>`
      SELECT queryid::text AS id, calls, total_exec_time::float8 AS exec_ms, query FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`;
    return new Map(rows.map((r) => [r.id, { calls: Number(r.calls), execMs: Number(r.exec_ms), query: r.query }]));
  };
  const count = async () => {
    const rows = await p.db.prisma.$queryRaw<{ n: bigint }[]>`
      SELECT coalesce(sum(calls), 0)::bigint AS n FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`;
    return Number(rows[0]?.n ?? 0);
  };
  // the counting query and the snapshot are two statements (counted by the next read)
  return { available: true, ownPerCount: 2, count, snapshot };
}
