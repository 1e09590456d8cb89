// Child processes of the main command: the gateway and the worker run as their own processes (as they
// would in production), started with the stack's addresses and stopped in order on exit.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import path from "node:path";
import type { SupervisedSpec } from "../../lib/stack/supervisor.ts";

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  stop(timeoutMs?: number): Promise<void>;
}

export function startService(options: {
  name: string;
  entry: string;
  env: Record<string, string>;
  logDir: string;
  cwd: string;
}): ManagedProcess {
  mkdirSync(options.logDir, { recursive: true });
  const log = createWriteStream(path.join(options.logDir, `${options.name}.log`), { flags: "a" });
  const child = spawn(process.execPath, ["--import", "tsx", options.entry], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      resolve();
    }),
  );
  return {
    name: options.name,
    child,
    async stop(timeoutMs = 20_000) {
      if (exited) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      await exitedPromise;
      clearTimeout(timer);
      log.end();
    },
  };
}

/**
 * A long-running service for lib/stack/supervisor: `node --import tsx <entry>`, its output appended to
 * `<logDir>/<name>.log` across restarts (each start is marked in the log).
 */
export function serviceSpec(options: {
  name: string;
  entry: string;
  env: Record<string, string>;
  logDir: string;
  cwd: string;
}): Omit<SupervisedSpec, "policy" | "log" | "onGiveUp"> {
  mkdirSync(options.logDir, { recursive: true });
  const file = path.join(options.logDir, `${options.name}.log`);
  return {
    name: options.name,
    command: process.execPath,
    args: ["--import", "tsx", options.entry],
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    onStart(child, restarts) {
      const log = createWriteStream(file, { flags: "a" });
      log.write(`--- ${new Date().toISOString()} ${options.name} pid ${child.pid}${restarts > 0 ? ` (restart ${restarts})` : ""}\n`);
      child.stdout?.pipe(log, { end: false });
      child.stderr?.pipe(log, { end: false });
      child.once("close", () => log.end());
    },
  };
}

/** Polls an HTTP readiness endpoint until it answers 200, or fails if the process exits (or was given up) first. */
export async function waitReady(url: string, proc: { name: string; failed(): string | undefined }, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const failed = proc.failed();
    if (failed !== undefined) throw new Error(`${proc.name} ${failed} before it was ready (see its log)`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${proc.name} was not ready at ${url} within ${timeoutMs} ms`);
}
