// Process helpers for the local stack: detached children in their own process group (so a whole tree can be
// stopped with one signal and nothing is orphaned), pid files, liveness checks and waiting.
import { spawn } from "node:child_process";
import { openSync, closeSync, readFileSync, readdirSync, writeFileSync, rmSync, existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface SpawnDetachedOptions {
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
}

/** Start a long-running server process in its own process group, output appended to logFile. Returns its pid. */
export function spawnDetached(command: string, args: string[], options: SpawnDetachedOptions): number {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = openSync(options.logFile, "a");
  try {
    const child = spawn(command, args, {
      detached: true,
      stdio: ["ignore", log, log],
      env: options.env ?? process.env,
      cwd: options.cwd,
      uid: options.uid,
      gid: options.gid,
    });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(log);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: exists but belongs to another user (still alive)
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The command line of a running process (Linux /proc), or undefined when it is gone. */
export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return undefined;
  }
}

/** Signal a whole process group (pid = group leader); falls back to the single process. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid) || isZombie(pid)) return true;
    await sleep(100);
  }
  return !isAlive(pid);
}

/** Alive and not a zombie (an exited child its parent has not reaped yet). */
export function isRunning(pid: number): boolean {
  return isAlive(pid) && !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}

/** Graceful stop: `signal` to the group, then SIGKILL to the group after graceMs. */
export async function stopGroup(pid: number, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!isAlive(pid)) return;
  signalGroup(pid, signal);
  if (await waitForExit(pid, graceMs)) return;
  signalGroup(pid, "SIGKILL");
  await waitForExit(pid, 5000);
}

export function readPidFile(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, "utf8").split("\n")[0]!.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function writePidFile(file: string, pid: number): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${pid}\n`);
}

export function removeFile(file: string): void {
  rmSync(file, { force: true });
}

/** Poll `check` until it returns a value other than undefined, or throw after timeoutMs with the last error. */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; abortIf?: () => string | undefined },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const abort = options.abortIf?.();
    if (abort !== undefined) throw new Error(`${what}: ${abort}`);
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(options.intervalMs ?? 200);
  }
  const reason = lastError instanceof Error ? `: ${lastError.message}` : "";
  throw new Error(`${what} was not ready after ${options.timeoutMs} ms${reason}`);
}

/**
 * The pids of a server this stack started, found by its pid file and by scanning /proc for processes that
 * `isServer` recognises and whose command line names its config file (a pid file can be stale, a crash can
 * leave a child without one). A stale pid file is removed.
 */
export function findServerPids(pidFile: string, configFile: string, isServer: (cmd: string) => boolean): number[] {
  const pids = new Set<number>();
  const recorded = readPidFile(pidFile);
  if (recorded !== undefined && isAlive(recorded) && (commandLine(recorded) ?? "").includes(configFile)) pids.add(recorded);
  else if (recorded !== undefined) removeFile(pidFile);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = commandLine(Number(entry));
    if (cmd !== undefined && isServer(cmd) && cmd.includes(configFile)) pids.add(Number(entry));
  }
  return [...pids];
}

/** SIGTERM each server's process group, SIGKILL after the grace period; removes the pid file. */
export async function stopServer(pids: number[], pidFile: string, graceMs: number): Promise<boolean> {
  await Promise.all(pids.map((pid) => stopGroup(pid, "SIGTERM", graceMs)));
  removeFile(pidFile);
  return pids.length > 0;
}

export interface LaunchServerOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  pidFile: string;
  cwd?: string;
  /** the server answers (port open, HTTP 200, ...) */
  ready(): Promise<boolean>;
  timeoutMs: number;
  intervalMs?: number;
  signal?: AbortSignal;
  /** stops what was started when it does not become ready */
  stop(): Promise<unknown>;
}

/**
 * Start a server detached, record its pid, wait until it is ready. It fails fast, with its log's tail, when the
 * server exits during start-up or the start is aborted; whatever was started is stopped before the error.
 */
export async function launchServer(options: LaunchServerOptions): Promise<number> {
  options.signal?.throwIfAborted();
  const pid = spawnDetached(options.command, options.args, { logFile: options.logFile, cwd: options.cwd });
  writePidFile(options.pidFile, pid);
  try {
    await waitUntil(options.name, async () => ((await options.ready()) ? true : undefined), {
      timeoutMs: options.timeoutMs,
      intervalMs: options.intervalMs ?? 200,
      abortIf: () =>
        options.signal?.aborted
          ? "start-up aborted"
          : isAlive(pid)
            ? undefined
            : `exited during start-up; log ${options.logFile}:\n${tailFile(options.logFile)}`,
    });
  } catch (error) {
    await options.stop();
    throw error;
  }
  return pid;
}

/** A TCP port that is free right now on 127.0.0.1 (for test stacks that must not collide with a dev stack). */
// Ports this process has handed out. The OS may give the port it just released to the next bind(0), so two
// freePort() calls in a row could name the same port: a Kafka node with its client and controller listeners on one
// port fails to format, and a cluster node whose port another node took never registers (both seen in CI).
const handedOut = new Set<number>();
const HANDED_OUT_MAX = 4096;

async function bindAnyPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A TCP port free on 127.0.0.1 now and never handed out before by this process. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await bindAnyPort();
    if (port === 0 || handedOut.has(port)) continue;
    handedOut.add(port);
    if (handedOut.size > HANDED_OUT_MAX) handedOut.delete(handedOut.values().next().value as number);
    return port;
  }
  throw new Error("no free TCP port that this process has not handed out already (50 tries)");
}

/** Whether something accepts TCP connections on host:port. */
export async function portOpen(port: number, host = "127.0.0.1"): Promise<boolean> {
  const { connect } = await import("node:net");
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** The last lines of a log file, for error messages when a server fails to start. */
export function tailFile(file: string, lines = 20): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** SIGKILL this process's direct children that are still running (short-lived helpers such as initdb or the
 *  Kafka storage formatter, when start-up is interrupted). Call after stopping the servers gracefully. */
export function killChildProcesses(): number {
  let killed = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid) {
        signalGroup(Number(entry), "SIGKILL");
        killed++;
      }
    } catch {
      /* exited meanwhile */
    }
  }
  return killed;
}
