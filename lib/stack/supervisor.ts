// Keeps child processes running for `npm start` (issue 14, finding 4): a gateway or worker that exits on its own
// is started again after a back-off; too many restarts within a window is a crash loop, and the supervisor gives
// up. Every restart is logged with the exit code or signal. superviseGroup adds what an entry point needs: the
// children stop together, and a clean-up (stopping PostgreSQL and Kafka) runs on Ctrl-C / SIGTERM and on giving
// up, whether or not a child crashed before.
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Decides after each unexpected exit: restart after delayMs, or give up. */
export interface RestartPolicy {
  /** `history`: times (ms since epoch) of the earlier restarts; `uptimeMs`: how long the child that exited ran */
  decide(exit: ExitInfo, history: number[], uptimeMs: number): { restart: true; delayMs: number } | { restart: false; reason: string };
}

export interface CrashLoopOptions {
  /** first back-off (default 1 s) */
  initialDelayMs?: number;
  /** multiplier per consecutive crash (default 2) */
  factor?: number;
  /** longest back-off (default 30 s) */
  maxDelayMs?: number;
  /** more restarts than this within windowMs is a crash loop: give up (default 5) */
  maxRestarts?: number;
  /** default 5 min */
  windowMs?: number;
  /** a child that ran this long resets the back-off to initialDelayMs (default 60 s) */
  stableAfterMs?: number;
}

/** Exponential back-off with a crash-loop limit. */
export function crashLoopPolicy(options: CrashLoopOptions = {}): RestartPolicy {
  const initial = options.initialDelayMs ?? 1000;
  const factor = options.factor ?? 2;
  const max = options.maxDelayMs ?? 30_000;
  const maxRestarts = options.maxRestarts ?? 5;
  const windowMs = options.windowMs ?? 300_000;
  const stableAfter = options.stableAfterMs ?? 60_000;
  let consecutive = 0;
  return {
    decide(_exit, history, uptimeMs) {
      const now = Date.now();
      const recent = history.filter((t) => now - t < windowMs).length;
      if (recent >= maxRestarts) return { restart: false, reason: `${recent} restarts within ${Math.round(windowMs / 1000)} s` };
      if (uptimeMs >= stableAfter) consecutive = 0;
      const delayMs = Math.min(max, initial * factor ** consecutive);
      consecutive += 1;
      return { restart: true, delayMs };
    },
  };
}

export interface SupervisedSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** default: ignore stdin, inherit stdout/stderr */
  stdio?: StdioOptions;
  policy?: RestartPolicy;
  log?: (line: string) => void;
  /** each (re)start, e.g. to pipe its output to a log file */
  onStart?: (child: ChildProcess, start: number) => void;
  /** the policy gave up: the child is not running and will not be started again */
  onGiveUp?: (info: ExitInfo & { restarts: number; reason: string }) => void;
}

export interface SupervisedProcess {
  name: string;
  /** the running child, if any */
  current(): ChildProcess | undefined;
  restarts(): number;
  /** the policy gave up on it (a crash loop) */
  gaveUp(): boolean;
  /** SIGTERM, then SIGKILL after timeoutMs; no restart afterwards. Safe to call at any time and more than once. */
  stop(timeoutMs?: number): Promise<void>;
  /** resolves once stopped or given up */
  done: Promise<{ gaveUp: boolean }>;
}

export function describeExit(exit: ExitInfo): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

export function superviseProcess(spec: SupervisedSpec): SupervisedProcess {
  const policy = spec.policy ?? crashLoopPolicy();
  const log = spec.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const history: number[] = [];
  let child: ChildProcess | undefined;
  let childExited: Promise<void> = Promise.resolve();
  let stopped = false;
  let gaveUp = false;
  let timer: NodeJS.Timeout | undefined;
  let finish!: (value: { gaveUp: boolean }) => void;
  const done = new Promise<{ gaveUp: boolean }>((resolve) => (finish = resolve));

  const start = () => {
    timer = undefined;
    if (stopped) return;
    const startedAt = Date.now();
    const c = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: spec.stdio ?? ["ignore", "inherit", "inherit"],
    });
    child = c;
    childExited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
    c.once("error", (error) => log(`[supervisor] ${spec.name}: could not start: ${error.message}`));
    spec.onStart?.(c, history.length);
    c.once("exit", (code, signal) => {
      if (child === c) child = undefined;
      if (stopped) return;
      const exit: ExitInfo = { code, signal };
      const decision = policy.decide(exit, history, Date.now() - startedAt);
      if (!decision.restart) {
        stopped = true;
        gaveUp = true;
        log(`[supervisor] ${spec.name} exited with ${describeExit(exit)}; giving up after ${history.length} restarts (${decision.reason})`);
        spec.onGiveUp?.({ ...exit, restarts: history.length, reason: decision.reason });
        finish({ gaveUp: true });
        return;
      }
      history.push(Date.now());
      log(
        `[supervisor] ${spec.name} (pid ${c.pid}) exited with ${describeExit(exit)}; restart ${history.length} in ${decision.delayMs} ms`,
      );
      timer = setTimeout(start, decision.delayMs);
    });
  };
  start();

  return {
    name: spec.name,
    current: () => child,
    restarts: () => history.length,
    gaveUp: () => gaveUp,
    async stop(timeoutMs = 20_000) {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) {
        c.kill("SIGTERM");
        const kill = setTimeout(() => c.kill("SIGKILL"), timeoutMs);
        await childExited;
        clearTimeout(kill);
      }
      finish({ gaveUp: false });
    },
    done,
  };
}

export interface GroupOptions {
  services: Omit<SupervisedSpec, "policy" | "log" | "onGiveUp">[];
  policy?: () => RestartPolicy;
  log?: (line: string) => void;
  /** runs once after the children stopped (signal, give-up or stop()): stop the servers the entry point started */
  cleanup: () => Promise<void>;
  /** install SIGINT/SIGTERM handlers that stop everything and exit (130/143); default true */
  handleSignals?: boolean;
  /** on give-up: stop everything, then process.exit(1) (default true) */
  exitOnGiveUp?: boolean;
  /** how long each child gets after SIGTERM (default 20 s) */
  stopTimeoutMs?: number;
}

export interface SupervisedGroup {
  processes: SupervisedProcess[];
  /** stop the children (last started first), then the clean-up; once */
  stop(): Promise<void>;
}

export function superviseGroup(options: GroupOptions): SupervisedGroup {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const policy = options.policy ?? (() => crashLoopPolicy());
  let stopping: Promise<void> | undefined;
  const processes: SupervisedProcess[] = [];
  const stop = () =>
    (stopping ??= (async () => {
      // last started first (the gateway stops taking requests before the worker drains)
      for (const p of [...processes].reverse())
        await p.stop(options.stopTimeoutMs).catch((e: Error) => log(`[supervisor] stopping ${p.name}: ${e.message}`));
      await options.cleanup();
    })());
  const exit = (code: number) => {
    stop()
      .catch((e: Error) => log(`[supervisor] error while stopping: ${e.message}`))
      .finally(() => process.exit(code));
  };
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log(`[supervisor] ${signal} again: exiting without waiting`);
      process.exit(1);
    }
    signalled = true;
    log(`[supervisor] ${signal}: stopping…`);
    exit(signal === "SIGINT" ? 130 : 143);
  };
  if (options.handleSignals ?? true) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  for (const service of options.services) {
    processes.push(
      superviseProcess({
        ...service,
        policy: policy(),
        log,
        onGiveUp: () => {
          log(`[supervisor] ${service.name} keeps crashing: stopping everything`);
          if (options.exitOnGiveUp ?? true) exit(1);
          else void stop();
        },
      }),
    );
  }
  return { processes, stop };
}
