/**
 * Starts a worker thread running a TypeScript module. The project runs TypeScript through tsx,
 * whose loader hook does not reach worker threads, so the thread boots from a one-line script that
 * registers tsx and then imports the module.
 */
import { Worker } from "node:worker_threads";

export function startTsWorker(moduleUrl: URL): Worker {
  const api = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(moduleUrl.href)}); })`;
  return new Worker(boot, { eval: true });
}
