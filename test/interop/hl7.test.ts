import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { escapeHl7, unescapeHl7 } from "../../lib/interop/hl7/escape.ts";
import { buildOruR01, parseHl7, type OruReport } from "../../lib/interop/hl7/oru.ts";
import { Hl7RejectedError, sendMllp, type MllpRetryPolicy } from "../../lib/interop/hl7/mllp.ts";

const hostile = "Effusion | left ^ base & ~ lung \\ end\rMSH|^~\\&|EVIL\n\x0b\x1c";

function report(overrides: Partial<OruReport> = {}): OruReport {
  return {
    controlId: "ctl-1",
    sentAt: new Date("2026-01-02T03:04:05Z"),
    sendingApplication: "GKMVLP",
    sendingFacility: "TENANT",
    receivingApplication: "RIS",
    receivingFacility: "HOSP",
    patientExternalId: "EXT-42",
    accessionNumber: "ACC-7",
    status: "final",
    findings: [
      { label: "Pleural Effusion", probability: 0.81, threshold: 0.5 },
      { label: "Support Devices", probability: 0.1, threshold: 0.4 },
    ],
    reportLines: ["No pneumothorax.", hostile],
    model: { name: "gk-mvlp", version: "1.2.0", bundleHash: "abc123" },
    ...overrides,
  };
}

test("every HL7 delimiter, line break and MLLP frame byte is escaped and round-trips", () => {
  for (const char of ["|", "^", "~", "\\", "&", "\r", "\n", "\x0b", "\x1c"]) {
    const escaped = escapeHl7(`a${char}b`);
    const outsideEscapes = escaped.slice(1, -1).replace(/\\[EFSTR]\\|\\X[0-9A-F]{2}\\/g, "");
    for (const forbidden of ["|", "^", "~", "&", "\\", "\r", "\n", "\x0b", "\x1c"])
      assert.ok(!outsideEscapes.includes(forbidden), `${JSON.stringify(char)} leaked`);
    assert.equal(unescapeHl7(escaped), `a${char}b`);
  }
  assert.equal(escapeHl7("a|b^c~d\\e&f"), "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f");
});

test("hostile report text stays inside one OBX field and cannot add segments", () => {
  const segments = parseHl7(buildOruR01(report()));
  assert.deepEqual(
    segments.map((segment) => segment.name),
    ["MSH", "PID", "OBR", "OBX", "OBX", "OBX", "OBX"],
  );
  const last = segments.at(-1);
  assert.ok(last !== undefined);
  assert.equal(last.fields.length, 18, "OBX-1..OBX-17 and nothing more");
  assert.equal(unescapeHl7(last.fields[5] ?? ""), hostile);
});

test("an ORU^R01 is keyed on the accession number and carries findings, status and model identity", () => {
  const segments = parseHl7(buildOruR01(report({ status: "amended" })));
  const [msh, pid, obr, effusion, devices] = segments;
  assert.equal(msh?.fields[9], "ORU^R01^ORU_R01");
  assert.equal(msh?.fields[12], "2.5.1");
  assert.equal(pid?.fields[3], "EXT-42^^^^MR");
  assert.equal(pid?.fields.length, 4, "PID carries the external id only");
  assert.equal(obr?.fields[2], "ACC-7");
  assert.equal(obr?.fields[25], "C");
  assert.equal(effusion?.fields[3], "60046008^Pleural Effusion^SCT");
  assert.equal(effusion?.fields[5], "0.8100");
  assert.equal(effusion?.fields[8], "A");
  assert.equal(effusion?.fields[11], "C");
  assert.match(effusion?.fields[17] ?? "", /gk-mvlp 1\.2\.0 sha256 abc123/);
  assert.equal(devices?.fields[3], "SUPPORT_DEVICES^Support Devices^L");
  assert.equal(devices?.fields[8], "N");
});

interface Listener {
  server: Server;
  port: number;
  received: string[];
}

/** A real MLLP receiver answering each message with the next ack code (the last one repeats). */
async function listen(codes: readonly string[]): Promise<Listener> {
  const received: string[] = [];
  const server = createServer((socket: Socket) => {
    let buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf(Buffer.from([0x1c, 0x0d]));
      if (buffer[0] !== 0x0b || end < 0) return;
      const message = buffer.subarray(1, end).toString("utf8");
      received.push(message);
      const controlId = parseHl7(message)[0]?.fields[10] ?? "";
      const code = codes[Math.min(received.length - 1, codes.length - 1)] ?? "AA";
      if (code === "DROP") return void socket.destroy();
      const ack = `MSH|^~\\&|RIS|HOSP|GKMVLP|TENANT|20260102030405||ACK^R01^ACK|a${received.length}|P|2.5.1\rMSA|${code}|${controlId}|test ${code}\r`;
      socket.end(Buffer.concat([Buffer.from([0x0b]), Buffer.from(ack), Buffer.from([0x1c, 0x0d])]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, received };
}

const fastPolicy: MllpRetryPolicy = { attempts: 4, initialDelayMs: 10, factor: 2, maxDelayMs: 40, timeoutMs: 5_000 };

test("a message sent over MLLP is received whole by a listener and its AA ends the send", async (t) => {
  const listener = await listen(["AA"]);
  t.after(() => listener.server.close());
  const message = buildOruR01(report());
  const result = await sendMllp({ host: "127.0.0.1", port: listener.port }, message, fastPolicy);
  assert.equal(result.ack.code, "AA");
  assert.equal(result.attempts, 1);
  assert.deepEqual(listener.received, [message]);
});

test("an AE and a dropped connection are retried with growing back-off until AA", async (t) => {
  const listener = await listen(["AE", "DROP", "AA"]);
  t.after(() => listener.server.close());
  const delays: number[] = [];
  const sleep = async (ms: number) => {
    delays.push(ms);
  };
  const result = await sendMllp({ host: "127.0.0.1", port: listener.port }, buildOruR01(report()), fastPolicy, sleep);
  assert.equal(result.ack.code, "AA");
  assert.equal(result.attempts, 3);
  assert.equal(listener.received.length, 3);
  assert.deepEqual(delays, [10, 20]);
});

test("persistent AE fails after the last attempt with a retriable error instead of being dropped", async (t) => {
  const listener = await listen(["AE"]);
  t.after(() => listener.server.close());
  await assert.rejects(
    sendMllp({ host: "127.0.0.1", port: listener.port }, buildOruR01(report()), fastPolicy, async () => {}),
    (error: unknown) => {
      assert.ok(error instanceof Error && "retriable" in error && error.retriable === true);
      assert.match(error.message, /after 4 attempts: HL7 receiver answered AE/);
      return true;
    },
  );
  assert.equal(listener.received.length, 4);
});

test("an AR is final and not resent", async (t) => {
  const listener = await listen(["AR"]);
  t.after(() => listener.server.close());
  await assert.rejects(
    sendMllp({ host: "127.0.0.1", port: listener.port }, buildOruR01(report()), fastPolicy, async () => {}),
    Hl7RejectedError,
  );
  assert.equal(listener.received.length, 1);
});

test("a peer that never answers times out and the failure is retriable", async (t) => {
  const server = createServer(() => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const policy = { ...fastPolicy, attempts: 2, timeoutMs: 150 };
  await assert.rejects(
    sendMllp({ host: "127.0.0.1", port }, buildOruR01(report()), policy, async () => {}),
    /did not acknowledge within 150 ms/,
  );
});
