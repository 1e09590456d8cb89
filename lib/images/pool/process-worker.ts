import { fork, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { fileURLToPath } from "node:url";

/**
 * A decoder in a child process that looks like a worker thread to the pool (postMessage, terminate, unref,
 * 'message' / 'error' / 'exit'). Why it exists: a worker thread's resourceLimits stop the thread only when V8
 * can still collect its way out; one allocation bigger than the 16 MB of grace Node gives at the limit makes V8
 * abort the whole process (node's Worker::NearHeapLimit). A child process that aborts takes nothing else with
 * it. The price: a slower start (a new Node and tsx) and copies instead of transfers.
 */
export class ProcessWorker extends EventEmitter {
  readonly threadId: number;
  private readonly child: ChildProcess;
  private stderrTail = "";
  private exited: Promise<number>;

  constructor(entry: URL, heapMb: number) {
    super();
    this.child = fork(fileURLToPath(entry), [], {
      execArgv: [`--max-old-space-size=${heapMb}`, `--import=${import.meta.resolve("tsx")}`],
      serialization: "advanced",
      stdio: ["ignore", "inherit", "pipe", "ipc"],
      // A process that parses hostile files gets none of the gateway's secrets (database URL, token key).
      env: Object.fromEntries(
        ["PATH", "TMPDIR", "HOME", "NODE_ENV"].flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k]!]])),
      ),
    });
    this.threadId = this.child.pid ?? -1;
    this.child.stderr?.on("data", (chunk: Buffer) => {
      process.stderr.write(chunk);
      this.stderrTail = (this.stderrTail + chunk.toString("latin1")).slice(-4096);
    });
    this.child.on("message", (message) => this.emit("message", message));
    this.child.on("error", (error) => this.emit("error", error));
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        // V8's fatal "heap out of memory" ends in abort(): the same outcome as a thread's ERR_WORKER_OUT_OF_MEMORY.
        if (signal === "SIGABRT" || /heap out of memory|Allocation failed/.test(this.stderrTail)) {
          this.emit("error", Object.assign(new Error("JS heap out of memory"), { code: "ERR_WORKER_OUT_OF_MEMORY" }));
        }
        const exitCode = code ?? 128;
        this.emit("exit", exitCode);
        resolve(exitCode);
      });
    });
  }

  postMessage(value: unknown): void {
    this.child.send(value as never);
  }

  terminate(): Promise<number> {
    this.ref(); // an unreferenced child's exit would not be waited for
    this.child.kill("SIGKILL");
    return this.exited;
  }

  ref(): void {
    this.child.ref();
    (this.child.channel as { ref?: () => void } | undefined)?.ref?.();
    (this.child.stderr as unknown as { ref?: () => void } | null)?.ref?.();
  }

  unref(): void {
    this.child.unref();
    (this.child.channel as { unref?: () => void } | undefined)?.unref?.();
    (this.child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  }
}
