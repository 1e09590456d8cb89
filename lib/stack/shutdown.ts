// Clean stop on Ctrl-C / SIGTERM for entry points: run `stop` once, then exit; a second signal exits at once.
export function installShutdownHandlers(
  stop: () => Promise<void>,
  log: (line: string) => void = (line) => console.error(line),
): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    log(`${signal}: stopping...`);
    stop()
      .then(() => process.exit(signal === "SIGINT" ? 130 : 143))
      .catch((error) => {
        log(`error while stopping: ${(error as Error).message}`);
        process.exit(1);
      });
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}
