// A minimal structured logger shared by the gateway and the worker: one JSON object per line on stderr.
// The service factories accept any object with these four methods, so a host process can pass its own.
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

function serialise(fields: LogFields | undefined): LogFields {
  if (!fields) return {};
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] =
      value instanceof Error
        ? { name: value.name, message: value.message, code: (value as { code?: unknown }).code, stack: value.stack }
        : value;
  }
  return out;
}

export function createLogger(
  name: string,
  level: LogLevel = "info",
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Logger {
  const min = LEVELS[level];
  const log = (lvl: LogLevel) => (message: string, fields?: LogFields) => {
    if (LEVELS[lvl] < min) return;
    write(JSON.stringify({ t: new Date().toISOString(), level: lvl, name, msg: message, ...serialise(fields) }));
  };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
