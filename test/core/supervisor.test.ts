// Issue 14, finding 4 (rest): the `npm start` supervisor restarts a crashed gateway or worker with back-off and
// a crash-loop limit, logs every restart with the exit code or signal, and always runs the clean-up (stopping
// PostgreSQL, Kafka and the children) on SIGTERM and when it gives up, also after a child crashed before.
// Real child processes throughout: tiny node scripts that exit with a code, or get SIGKILLed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { superviseProcess, crashLoopPolicy } from "../../lib/stack/supervisor.ts";
import { isAlive } from "../../lib/stack/processes.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), "supervisor-test-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test(
  "a child killed with SIGKILL is restarted after the back-off, and the restart is logged with the signal",
  { timeout: 60_000 },
  async (t) => {
    const dir = tempDir(t);
    const starts = path.join(dir, "starts");
    // each start appends its pid, then the child stays up
    const script = `require('fs').appendFileSync(${JSON.stringify(starts)}, process.pid + '\\n'); setInterval(() => {}, 1000);`;
    const lines: string[] = [];
    const proc = superviseProcess({
      name: "sleeper",
      command: process.execPath,
      args: ["-e", script],
      policy: crashLoopPolicy({ initialDelayMs: 200, maxDelayMs: 1000, maxRestarts: 3, windowMs: 60_000 }),
      log: (line) => lines.push(line),
    });
    t.after(() => proc.stop(2000));
    const pids = () => (existsSync(starts) ? readFileSync(starts, "utf8").trim().split("\n").filter(Boolean).map(Number) : []);
    await until("first start", () => pids().length === 1);
    const first = pids()[0]!;
    const killedAt = Date.now();
    process.kill(first, "SIGKILL");
    await until("restart", () => pids().length === 2);
    assert.ok(Date.now() - killedAt >= 180, "waits the back-off before restarting");
    assert.notEqual(pids()[1], first);
    assert.ok(isAlive(pids()[1]!));
    assert.equal(proc.restarts(), 1);
    assert.ok(
      lines.some((l) => /sleeper.*SIGKILL.*restart/i.test(l)),
      `logged: ${lines.join(" | ")}`,
    );
    await proc.stop(2000);
    assert.ok(!isAlive(pids()[1]!), "stop() ends the running child");
    const after = pids().length;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(pids().length, after, "a stopped child is not restarted");
  },
);

test("a crash loop backs off exponentially, then gives up and reports the last exit code", { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const starts = path.join(dir, "starts");
  const script = `require('fs').appendFileSync(${JSON.stringify(starts)}, Date.now() + '\\n'); process.exit(3);`;
  const lines: string[] = [];
  let gaveUp: { code: number | null; signal: string | null; restarts: number; reason: string } | undefined;
  const proc = superviseProcess({
    name: "crasher",
    command: process.execPath,
    args: ["-e", script],
    policy: crashLoopPolicy({ initialDelayMs: 100, factor: 2, maxDelayMs: 10_000, maxRestarts: 3, windowMs: 60_000 }),
    log: (line) => lines.push(line),
    onGiveUp: (info) => (gaveUp = info),
  });
  t.after(() => proc.stop(2000));
  await until("give up", () => gaveUp !== undefined, 30_000);
  const times = readFileSync(starts, "utf8").trim().split("\n").map(Number);
  assert.equal(times.length, 4, "the first start and 3 restarts");
  assert.deepEqual(gaveUp, { code: 3, signal: null, restarts: 3, reason: "3 restarts within 60 s" });
  const gaps = times.slice(1).map((v, i) => v - times[i]!);
  assert.ok(gaps[0]! >= 90 && gaps[1]! >= 190 && gaps[2]! >= 390, `back-off doubles: ${gaps.join(", ")}`);
  assert.equal(lines.filter((l) => /crasher.*code 3; restart \d+ in \d+ ms/.test(l)).length, 3, lines.join(" | "));
  assert.ok(
    lines.some((l) => /crasher.*giving up/i.test(l)),
    lines.join(" | "),
  );
  await proc.done;
});

test(
  "the npm start supervisor runs its clean-up on SIGTERM after a child crashed, and when it gives up",
  { timeout: 90_000 },
  async (t) => {
    const dir = tempDir(t);
    // a harness process standing in for scripts/main.ts: two supervised children, a clean-up that records what it
    // stopped (in main.ts: gateway, worker, then PostgreSQL and Kafka)
    const harness = path.join(dir, "harness.ts");
    writeFileSync(
      harness,
      `import { writeFileSync, appendFileSync } from "node:fs";
import { superviseGroup, crashLoopPolicy } from ${JSON.stringify(path.join(root, "lib/stack/supervisor.ts"))};
const dir = ${JSON.stringify(dir)};
const child = (name: string) => \`require('fs').writeFileSync(\${JSON.stringify(dir)} + '/' + '\${name}' + '.' + process.pid, ''); \${process.env.CRASH_ALWAYS === name ? 'process.exit(7)' : 'setInterval(() => {}, 1000)'};\`;
const group = superviseGroup({
  services: ["gateway", "worker"].map((name) => ({ name, command: process.execPath, args: ["-e", child(name)] })),
  policy: () => crashLoopPolicy({ initialDelayMs: 100, maxDelayMs: 500, maxRestarts: 2, windowMs: 60_000 }),
  log: (line) => appendFileSync(dir + "/log", line + "\\n"),
  cleanup: async () => writeFileSync(dir + "/cleanup", "stack stopped"),
});
writeFileSync(dir + "/ready", String(process.pid));
void group;
`,
    );
    const run = (env: Record<string, string>) => {
      const p = spawn(process.execPath, ["--import", "tsx", harness], {
        cwd: root,
        env: { ...process.env, ...env },
        stdio: ["ignore", "inherit", "inherit"],
      });
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        p.once("exit", (code, signal) => resolve({ code, signal })),
      );
      t.after(() => {
        if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
      });
      return { p, exited };
    };
    const childPids = (name: string) =>
      require_readdir(dir)
        .filter((f) => f.startsWith(`${name}.`))
        .map((f) => Number(f.split(".")[1]));

    // 1. a worker crash is restarted; then SIGTERM stops both children and runs the clean-up
    const first = run({});
    await until("both children", () => childPids("gateway").length === 1 && childPids("worker").length === 1, 30_000);
    const worker1 = childPids("worker")[0]!;
    process.kill(worker1, "SIGKILL");
    await until("worker restarted", () => childPids("worker").length === 2, 15_000);
    first.p.kill("SIGTERM");
    const outcome = await first.exited;
    assert.equal(outcome.code, 143);
    assert.equal(readFileSync(path.join(dir, "cleanup"), "utf8"), "stack stopped");
    for (const pid of [...childPids("gateway"), ...childPids("worker")]) assert.ok(!isAlive(pid), `child ${pid} stopped`);
    assert.match(readFileSync(path.join(dir, "log"), "utf8"), /worker.*SIGKILL.*restart/i);

    // 2. a worker that keeps crashing: the supervisor gives up, stops the gateway, runs the clean-up, exits 1
    for (const f of require_readdir(dir)) if (f !== "harness.ts") rmSync(path.join(dir, f));
    const second = run({ CRASH_ALWAYS: "worker" });
    const result = await second.exited;
    assert.equal(result.code, 1);
    assert.equal(readFileSync(path.join(dir, "cleanup"), "utf8"), "stack stopped");
    assert.equal(childPids("worker").length, 3, "first start + 2 restarts");
    for (const pid of childPids("gateway")) assert.ok(!isAlive(pid), `gateway ${pid} stopped`);
    assert.match(readFileSync(path.join(dir, "log"), "utf8"), /worker.*giving up/i);
  },
);

import { readdirSync as require_readdir } from "node:fs";
