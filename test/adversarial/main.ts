// `npm run test:adversarial`: replays the attacks issue 14's hardening fixed against a platform of its own
// (PostgreSQL, Kafka, gateway, worker on free ports under .local/adversarial), while a bystander repeats a small
// query. Prints a table per attack, then one JSON summary as the LAST line of stdout; exits 1 when anything
// leaked, hung, crashed or was not refused as expected, or the bystander's p95 passed the target during an attack.
import { ConfigError } from "../../lib/errors/index.ts";
import { allAttacks, type Attack, type AttackContext } from "./attacks/index.ts";
import { createTally, worst, type Observation } from "./classify.ts";
import { loadAdversarialConfig, type AdversarialConfig } from "./config.ts";
import { gqlRequest, request } from "./http.ts";
import { startNormalClient } from "./normal.ts";
import { startPlatform, type Platform } from "./platform.ts";
import { formatTable, normalStats, summarize, type AttackRow } from "./report.ts";
import { buildWorld } from "./world.ts";

const started = performance.now();
const log = (line: string) => process.stderr.write(`[adversarial +${((performance.now() - started) / 1000).toFixed(1)}s] ${line}\n`);

/** runs an attack once, or from `repeat` loops for the whole window; the tally keeps verdicts, not bodies */
async function runAttack(attack: Attack, ctx: AttackContext, add: (o: Observation[]) => void): Promise<void> {
  if (!attack.repeat) return add(await attack.run(ctx));
  const until = performance.now() + ctx.windowMs;
  await Promise.all(
    Array.from({ length: attack.repeat }, async () => {
      do add(await attack.run(ctx));
      while (performance.now() < until);
    }),
  );
}

function selected(cfg: AdversarialConfig): Attack[] {
  const families = new Set(allAttacks.map((a) => a.family as string));
  // an ADVERSARIAL_ONLY entry is a family name, or else a part of attack names
  const picked = (a: Attack) => !cfg.only || cfg.only.some((o) => (families.has(o) ? a.family === o : a.name.includes(o)));
  return allAttacks.filter((a) => (cfg.mode === "full" || !a.fullOnly) && picked(a));
}

async function main(): Promise<void> {
  let cfg: AdversarialConfig;
  try {
    cfg = loadAdversarialConfig(process.env);
  } catch (e) {
    process.stderr.write(`${e instanceof ConfigError ? e.message : String(e)}\n`);
    process.exit(2);
  }
  const baseEnv: Record<string, string> = { OMP_NUM_THREADS: "1" };
  for (const k of ["PATH", "HOME", "LANG", "TMPDIR", "TZ"]) if (process.env[k]) baseEnv[k] = process.env[k]!;
  let platform: Platform | undefined;
  const cleanup = async () => {
    const p = platform;
    platform = undefined;
    await p?.stop().catch(() => undefined);
  };
  process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));
  process.on("SIGTERM", () => void cleanup().then(() => process.exit(143)));
  const rows: AttackRow[] = [];
  let baseline: AttackRow["normal"] | undefined;
  try {
    log(`mode ${cfg.mode}, bundle ${cfg.bundleDir}`);
    platform = await startPlatform(cfg, baseEnv, log);
    const world = await buildWorld(platform, cfg.deadlineMs, log);
    const gql = gqlRequest(platform.gatewayUrl, cfg.deadlineMs);
    const baseUrl = platform.gatewayUrl;
    const ctx: AttackContext = {
      cfg,
      baseUrl,
      world,
      tokenSecret: platform.tokenSecret,
      gql,
      upload: (bytes, contentType, headers) =>
        request(
          `${baseUrl}/upload`,
          { method: "POST", headers: { "content-type": contentType, ...headers }, body: bytes as unknown as BodyInit },
          cfg.deadlineMs,
        ),
      windowMs: cfg.windowMs,
    };
    // hostile files are built before anyone measures: building the 8 MB DICOM blocks this process for seconds,
    // longer than the gateway keeps an idle connection open (5 s), which then failed the next requests
    const attacks = selected(cfg);
    for (const attack of attacks) attack.prepare?.();
    const normal = startNormalClient(baseUrl, world.apiKeyA, cfg.normalIntervalMs, cfg.deadlineMs);
    const b0 = performance.now();
    await new Promise((r) => setTimeout(r, cfg.windowMs));
    baseline = normalStats(normal.between(b0, performance.now()));
    log(`bystander before any attack: p50 ${baseline.p50} ms, p95 ${baseline.p95} ms (n ${baseline.n})`);
    for (const attack of attacks) {
      const tally = createTally(world.secrets);
      const t0 = performance.now();
      let answers = 0;
      await runAttack(attack, ctx, (o) => {
        answers += o.length;
        tally.add(o);
      }).catch((e: unknown) => tally.reasons.push(`attack code failed: ${(e as Error).stack ?? e}`));
      const t1 = performance.now();
      const down = await platform.downReason();
      if (down) tally.reasons.push(down);
      // a bystander request still in flight at t1 is not in yet: wait for it (an attack's effect may outlast it)
      await normal.settled();
      const samples = normal.between(t0, t1);
      // an attack whose own code failed proved nothing: at best "unexpected"
      const codeFailed = tally.reasons.some((r) => r.startsWith("attack code failed"));
      const outcome = worst([tally.outcome(Boolean(down)), ...(codeFailed ? (["unexpected"] as const) : [])]);
      rows.push({
        name: attack.name,
        family: attack.family,
        outcome,
        answers,
        seconds: (t1 - t0) / 1000,
        normal: normalStats(samples),
        reasons: tally.reasons,
      });
      log(`${attack.family}: ${attack.name} → ${outcome} (${answers} answers, bystander p95 ${rows.at(-1)!.normal.p95} ms)`);
      if (down) break;
    }
    await normal.stop();
  } catch (e) {
    log(`failed: ${(e as Error).stack ?? e}`);
    await cleanup();
    process.exit(1);
  }
  await cleanup();
  process.stdout.write(`${formatTable(rows, cfg.p95TargetMs)}\n\n`);
  const summary = summarize(rows, {
    normal_baseline_p95_ms: baseline?.p95 ?? null,
    p95_target_ms: cfg.p95TargetMs,
    mode: cfg.mode,
    duration_s: Math.round((performance.now() - started) / 1000),
  });
  const failed =
    summary.leaked + summary.hung + summary.crashed + summary.unexpected + summary.normal_errors > 0 ||
    (summary.max_normal_p95_ms_under_attack ?? Infinity) > cfg.p95TargetMs;
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(failed ? 1 : 0);
}

void main();
