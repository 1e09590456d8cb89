// Ports for local servers: two calls never name the same port, even when the OS hands the port it just released to
// the next bind (a Kafka node got one port for both its listeners that way and failed to format, in CI).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { freePort } from "../../lib/stack/index.ts";

test("many ports asked for in a row are all different and all bindable", async () => {
  const ports: number[] = [];
  for (let i = 0; i < 300; i++) ports.push(await freePort());
  assert.equal(new Set(ports).size, ports.length);
  const port = ports[ports.length - 1]!;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.on("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  await new Promise((resolve) => server.close(resolve));
});
