// Local Orthanc PACS (Debian packages orthanc + orthanc-dicomweb) for the stack: a process under .local/orthanc
// with its own config (storage folder, HTTP and DICOM ports, AE title, DICOMweb plugin), HTTP on loopback only
// and basic authentication with credentials generated once and kept in credentials.json (mode 600).
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { findServerPids, launchServer, portOpen, stopServer } from "./processes.ts";

export const ORTHANC_BINARY = "/usr/sbin/Orthanc";
export const DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";

export interface OrthancOptions {
  /** folder holding orthanc.json, credentials.json, storage/, orthanc.pid and orthanc.log */
  dataDir: string;
  httpPort: number;
  dicomPort: number;
  aeTitle?: string;
  startTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface OrthancCredentials {
  username: string;
  password: string;
}

export interface OrthancHandle {
  url: string;
  dicomWebUrl: string;
  credentials: OrthancCredentials;
  aeTitle: string;
  dicomPort: number;
  pid: number;
  reused: boolean;
  stop(): Promise<void>;
}

function files(dataDir: string) {
  const dir = resolve(dataDir);
  return {
    dir,
    config: join(dir, "orthanc.json"),
    credentials: join(dir, "credentials.json"),
    storage: join(dir, "storage"),
    pid: join(dir, "orthanc.pid"),
    log: join(dir, "orthanc.log"),
  };
}

export function orthancInstalled(): boolean {
  return existsSync(ORTHANC_BINARY) && existsSync(DICOMWEB_PLUGIN);
}

function loadOrCreateCredentials(path: string): OrthancCredentials {
  if (existsSync(path)) return JSON.parse(readFileSync(path, "utf8")) as OrthancCredentials;
  const credentials = { username: "gkmvlp", password: randomBytes(24).toString("base64url") };
  writeFileSync(path, JSON.stringify(credentials), { mode: 0o600 });
  return credentials;
}

function config(options: OrthancOptions, storage: string, credentials: OrthancCredentials): object {
  return {
    Name: "gkmvlp-local",
    StorageDirectory: storage,
    IndexDirectory: storage,
    HttpPort: options.httpPort,
    DicomPort: options.dicomPort,
    DicomAet: options.aeTitle ?? "GKMVLP",
    RemoteAccessAllowed: false,
    AuthenticationEnabled: true,
    RegisteredUsers: { [credentials.username]: credentials.password },
    Plugins: [DICOMWEB_PLUGIN],
    DicomWeb: { Enable: true, Root: "/dicom-web/", EnableWado: true },
    // nothing a caller sends may run code or write outside the storage folder
    ExecuteLuaEnabled: false,
    RestApiWriteToFileSystemEnabled: false,
    HttpDescribeErrors: false,
    StableAge: 5,
  };
}

export function findOrthancPids(dataDir: string): number[] {
  const f = files(dataDir);
  return findServerPids(f.pid, f.config, (cmd) => cmd.startsWith(ORTHANC_BINARY));
}

export function basicAuth(credentials: OrthancCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
}

async function answers(url: string, credentials: OrthancCredentials): Promise<boolean> {
  try {
    const res = await fetch(`${url}/system`, { headers: { authorization: basicAuth(credentials) }, signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

export async function startOrthanc(options: OrthancOptions): Promise<OrthancHandle> {
  const f = files(options.dataDir);
  mkdirSync(f.storage, { recursive: true });
  const credentials = loadOrCreateCredentials(f.credentials);
  const url = `http://127.0.0.1:${options.httpPort}`;
  const handle = (pid: number, reused: boolean): OrthancHandle => ({
    url,
    dicomWebUrl: `${url}/dicom-web`,
    credentials,
    aeTitle: options.aeTitle ?? "GKMVLP",
    dicomPort: options.dicomPort,
    pid,
    reused,
    stop: async () => {
      await stopOrthanc(options.dataDir);
    },
  });
  const running = findOrthancPids(options.dataDir);
  if (running.length === 1 && (await answers(url, credentials))) return handle(running[0]!, true);
  if (running.length > 0) await stopOrthanc(options.dataDir);
  if (!orthancInstalled()) throw new Error(`Orthanc is not installed (${ORTHANC_BINARY}, ${DICOMWEB_PLUGIN}): run npm run setup`);
  for (const port of [options.httpPort, options.dicomPort]) {
    if (await portOpen(port)) throw new Error(`port ${port} is in use by another process; choose other Orthanc ports`);
  }
  options.signal?.throwIfAborted();
  writeFileSync(f.config, JSON.stringify(config(options, f.storage, credentials), null, 2), { mode: 0o600 });
  const pid = await launchServer({
    name: "Orthanc",
    command: ORTHANC_BINARY,
    args: [f.config],
    logFile: f.log,
    pidFile: f.pid,
    cwd: f.dir,
    ready: () => answers(url, credentials),
    timeoutMs: options.startTimeoutMs ?? 60_000,
    signal: options.signal,
    stop: () => stopOrthanc(options.dataDir),
  });
  return handle(pid, false);
}

/** SIGTERM (Orthanc closes its index cleanly), SIGKILL after the grace period; removes the pid file. */
export async function stopOrthanc(dataDir: string, graceMs = 15_000): Promise<boolean> {
  return stopServer(findOrthancPids(dataDir), files(dataDir).pid, graceMs);
}
