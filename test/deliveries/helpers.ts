// Shared pieces of the delivery tests: an analysed study written with lib/db's writers (as the worker writes it),
// a real MLLP peer on a TCP socket, and a small FHIR server on HTTP.
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import type { Repositories } from "../../lib/db/index.ts";
import { parseHl7 } from "../../lib/interop/hl7/oru.ts";
import { derivedUid } from "../../lib/interop/fhir/uids.ts";
import { seedStudy, type SeededStudy } from "../helpers/index.ts";

export const PROVENANCE = { modelName: "gkmvlp-real", modelVersion: "0.2.0", bundleSha256: "ef".repeat(32) };

export interface AnalysedStudy extends SeededStudy {
  reportAnalysisId: string;
  radiologistId: string;
  studyInstanceUid: string;
}

/** A study with a classification, a localization and a report, and a radiologist who can review it. */
export async function analysedStudy(repos: Repositories, label = "d"): Promise<AnalysedStudy> {
  const seeded = await seedStudy(repos, label);
  const user = await repos.users.create({
    tenantId: seeded.tenantId,
    email: `rad-${seeded.studyId}@example.test`,
    name: "Dr Reader",
    role: "RADIOLOGIST",
    password: "a-long-enough-password",
  });
  return { ...seeded, ...(await writeResults(repos, seeded, label)), radiologistId: user.id };
}

/** Analyses and their results for an existing study, written as the worker writes them. */
export async function writeResults(
  repos: Repositories,
  seeded: { tenantId: string; studyId: string; imageId: string },
  label: string,
): Promise<{ reportAnalysisId: string; studyInstanceUid: string }> {
  // an HTTP upload without DICOM UIDs: the SR goes into the study UID the FHIR bundle also uses
  const studyInstanceUid = derivedUid("study", seeded.studyId);
  const [cls, loc, rep] = (
    await repos.analyses.requestAnalyses(
      (["CLASSIFICATION", "LOCALIZATION", "REPORT"] as const).map((task) => ({
        tenantId: seeded.tenantId,
        studyId: seeded.studyId,
        imageId: seeded.imageId,
        task,
        question: null,
        idempotencyKey: `${label}-${task}`,
      })),
    )
  ).map((o) => o.analysis.id) as [string, string, string];
  await repos.results.writeClassification(cls, PROVENANCE, [
    {
      label: "Pleural Effusion",
      probability: 0.91,
      rawProbability: 0.95,
      threshold: 0.5,
      regions: [{ region: "left lung", score: 0.8 }],
      validatedOnRealData: true,
    },
    {
      label: "Cardiomegaly",
      probability: 0.12,
      rawProbability: 0.2,
      threshold: 0.5,
      regions: [{ region: "cardiac silhouette", score: 0.6 }],
    },
  ]);
  await repos.results.writeLocalization(loc, PROVENANCE, [{ label: "Pleural Effusion", x1: 10, y1: 120, x2: 110, y2: 220, score: 0.8 }]);
  await repos.results.writeReport(rep, PROVENANCE, {
    findingsText: "Left pleural effusion.",
    impressionText: "Left effusion.",
    decoding: "greedy",
    sentences: [{ index: 0, text: "Left pleural effusion.", regions: [{ region: "left lung", score: 0.7 }], labels: ["Pleural Effusion"] }],
  });
  return { reportAnalysisId: rep, studyInstanceUid };
}

export interface MllpPeer {
  server: Server;
  target: { host: string; port: number };
  received: string[];
  /** what the next message gets: an ACK code, or SILENT (read it, never answer) */
  answers: string[];
  close(): Promise<void>;
}

/** A real MLLP receiver: each message gets the next answer from `answers` (the last one repeats). */
export async function mllpPeer(answers: string[]): Promise<MllpPeer> {
  const received: string[] = [];
  const sockets = new Set<Socket>();
  const peer = { answers } as MllpPeer;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf(Buffer.from([0x1c, 0x0d]));
      if (buffer[0] !== 0x0b || end < 0) return;
      const message = buffer.subarray(1, end).toString("utf8");
      received.push(message);
      const code = peer.answers[Math.min(received.length - 1, peer.answers.length - 1)] ?? "AA";
      if (code === "SILENT") return;
      const controlId = parseHl7(message)[0]?.fields[10] ?? "";
      const ack = `MSH|^~\\&|RIS|HOSP|GKMVLP|GKMVLP|20261203100000||ACK^R01^ACK|a${received.length}|P|2.5.1\rMSA|${code}|${controlId}|ris says ${code}\r`;
      socket.end(Buffer.concat([Buffer.from([0x0b]), Buffer.from(ack), Buffer.from([0x1c, 0x0d])]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(peer, {
    server,
    target: { host: "127.0.0.1", port: (server.address() as AddressInfo).port },
    received,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

export interface FhirPeer {
  server: HttpServer;
  baseUrl: string;
  requests: { method: string; url: string; contentType: string; body: any }[];
  /** status of the next answers (the last one repeats) */
  statuses: number[];
  close(): Promise<void>;
}

export async function fhirPeer(statuses: number[]): Promise<FhirPeer> {
  const requests: FhirPeer["requests"] = [];
  const peer = { statuses } as FhirPeer;
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests.push({
        method: req.method ?? "",
        url: req.url ?? "",
        contentType: String(req.headers["content-type"] ?? ""),
        body: JSON.parse(Buffer.concat(chunks).toString("utf8") || "null"),
      });
      const status = peer.statuses[Math.min(requests.length - 1, peer.statuses.length - 1)] ?? 200;
      res
        .writeHead(status, { "content-type": "application/fhir+json" })
        .end(JSON.stringify({ resourceType: "Bundle", type: "transaction-response" }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(peer, {
    server,
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
