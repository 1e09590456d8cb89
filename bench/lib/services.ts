// The platform's own processes, started the way an operator starts them (node --import tsx <main.ts> with its
// environment), each in its own process group so that stopping it stops everything it started. Every pid is
// appended to <workDir>/pids so that scripts/bench.sh can still end them (by id) if the bench itself dies.
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, createWriteStream, mkdirSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { REPO_ROOT } from "../config.ts";

export interface Service {
  name: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  /** resolves with the first stdout line matching `re` (rejects if the process exits first or on timeout) */
  waitForLine(re: RegExp, timeoutMs: number): Promise<string>;
  /** SIGTERM to the group, SIGKILL after graceMs */
  stop(graceMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

/** `profileDir`: run under node --cpu-prof, profiles written there when the process exits normally */
export function startService(name: string, script: string, env: Record<string, string>, workDir: string, profileDir?: string): Service {
  mkdirSync(workDir, { recursive: true });
  const logFile = path.join(workDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: "a" });
  const prof = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...prof, "--import", "tsx", script], {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  const pid = child.pid;
  appendFileSync(path.join(workDir, "pids"), `${pid}\n`);
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let buf = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    log.write(chunk);
    buf += chunk.toString("utf8");
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of [...waiters])
        if (w.re.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => log.write(chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    name,
    pid,
    child,
    logFile,
    exited,
    waitForLine(re, timeoutMs) {
      const seen = lines.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return Promise.race([
        new Promise<string>((resolve) => waiters.push({ re, resolve })),
        exited.then((code) => Promise.reject(new Error(`${name} exited (code ${code}) before printing ${re}; see ${logFile}`))),
        sleep(timeoutMs).then(() => Promise.reject(new Error(`${name}: no ${re} within ${timeoutMs} ms; see ${logFile}`))),
      ]);
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const signal = (s: NodeJS.Signals) => {
        try {
          process.kill(-pid, s);
        } catch {
          /* gone */
        }
      };
      signal("SIGTERM");
      const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
      if (!done) {
        signal("SIGKILL");
        await Promise.race([exited, sleep(2000)]);
      }
      log.end();
    },
  };
}

/** Polls `url` until it answers 200 (the worker's /readyz). */
export async function waitForHttp(url: string, timeoutMs: number, service: Service): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (service.child.exitCode !== null) throw new Error(`${service.name} exited (code ${service.child.exitCode}); see ${service.logFile}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
      if (r.status === 200) return;
      last = `${r.status} ${await r.text()}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(300);
  }
  throw new Error(`${service.name}: ${url} not ready within ${timeoutMs} ms (last: ${last}); see ${service.logFile}`);
}
