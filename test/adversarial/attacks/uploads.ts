// Uploads: too big, decompression bombs, corrupt PNG/JPEG/DICOM, a burst beyond the decoder pool (429 with
// Retry-After), no credentials. Each refusal is the status and code docs/security.md lists; nothing is stored.
import http from "node:http";
import { availableParallelism } from "node:os";
import type { Observation } from "../classify.ts";
import { request, type Answer } from "../http.ts";
import { bombPng, corruptJpeg, corruptPng, manyElementsDicom, pngDeclaring, truncatedDicom } from "./hostile-files.ts";
import { seen, type Attack } from "./types.ts";

const code = (a: Answer): string | undefined => a.json?.error?.code;

function fileAttack(
  name: string,
  make: () => Buffer,
  contentType: string,
  status: number[],
  codes: string[],
  options: { repeat?: number; fullOnly?: boolean; auth?: "none" } = {},
): Attack {
  let bytes: Buffer | undefined;
  return {
    name,
    family: "uploads",
    repeat: options.repeat,
    fullOnly: options.fullOnly,
    prepare() {
      bytes ??= make();
    },
    async run({ upload, world }) {
      bytes ??= make();
      const a = await upload(bytes, contentType, options.auth === "none" ? {} : world.a.RADIOLOGIST);
      return [seen(name, a, status.includes(a.status) && codes.includes(String(code(a))) && !a.json?.uploadId)];
    },
  };
}

/**
 * POST that reads the answer even when the server answers and closes before the body is sent (fetch reports only
 * "fetch failed" then): what a client sees of an early 413.
 */
function earlyAnswerPost(url: string, bytes: Buffer, headers: Record<string, string>, deadlineMs: number): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const done = (a: Omit<Answer, "ms">) => {
      clearTimeout(timer);
      resolve({ ...a, ms: performance.now() - t0 });
    };
    const req = http.request(url, { method: "POST", headers: { ...headers, "content-length": String(bytes.length) } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("error", () => undefined);
      res.on("end", () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h.set(k, v);
        done({ status: res.statusCode ?? 0, headers: h, text, json, hung: false });
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      done({ status: 0, headers: new Headers(), text: "", json: undefined, hung: true });
    }, deadlineMs);
    // a write after the server's answer fails with EPIPE/ECONNRESET: the answer (if any) is what counts
    req.on("error", (e) =>
      setTimeout(() => done({ status: 0, headers: new Headers(), text: "", json: undefined, hung: false, failed: e.message }), 200),
    );
    req.end(bytes);
  });
}

const CORRUPT = ["CORRUPT_IMAGE", "UNSUPPORTED_FORMAT"];

export const uploadAttacks: Attack[] = [
  {
    name: "oversized upload (33 MiB)",
    family: "uploads",
    async run({ baseUrl, world, cfg }) {
      const a = await earlyAnswerPost(
        `${baseUrl}/upload`,
        Buffer.alloc(33 * 1024 * 1024, 7),
        { "content-type": "image/png", ...world.a.RADIOLOGIST },
        cfg.deadlineMs,
      );
      // the gateway answers 413 after the limit and discards the rest; a client still writing then sometimes sees
      // only the closed connection (EPIPE / reset) and not the answer: turned away all the same, nothing stored
      const closed = /EPIPE|ECONNRESET|socket hang up/.test(a.failed ?? "");
      return [seen("33 MiB body", a, (a.status === 413 && code(a) === "TOO_LARGE") || closed)];
    },
  },
  fileAttack(
    "decompression bomb PNG (4600×4600 RGBA16, ~3 MB on the wire)",
    () => bombPng(4600, 4600, 16),
    "image/png",
    [422],
    ["DECODE_BUDGET_EXCEEDED"],
  ),
  fileAttack("PNG declaring 60000×60000", () => pngDeclaring(60_000, 60_000), "image/png", [422], ["DIMENSIONS_TOO_LARGE"], { repeat: 2 }),
  fileAttack("corrupt PNG", corruptPng, "image/png", [422], CORRUPT, { repeat: 2 }),
  fileAttack("corrupt JPEG", corruptJpeg, "image/jpeg", [422], CORRUPT, { repeat: 2 }),
  fileAttack("truncated DICOM", truncatedDicom, "application/dicom", [422], CORRUPT, { repeat: 2 }),
  fileAttack("DICOM with a million header elements", () => manyElementsDicom(), "application/dicom", [422], ["HEADER_TOO_LARGE"], {
    fullOnly: true,
  }),
  fileAttack("upload without credentials", () => bombPng(64, 64, 8), "image/png", [401], ["UNAUTHENTICATED"], { repeat: 2, auth: "none" }),
  {
    name: "concurrent upload burst beyond the decoder pool",
    family: "uploads",
    async run({ baseUrl, world, cfg, upload }) {
      // the gateway's default pool: decoders (cores − 1, 1…4) plus a queue of 8; hold every slot with bodies still arriving
      const slots = Math.min(4, Math.max(1, availableParallelism() - 1)) + 8;
      const bodies = Array.from({ length: slots }, (_, i) => bombPng(300, 300, 8, i + 10));
      const controllers: ReadableStreamDefaultController<Uint8Array>[] = [];
      const held = bodies.map((b) => {
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(new Uint8Array(b.subarray(0, 100)));
            controllers.push(c);
          },
        });
        return request(
          `${baseUrl}/upload`,
          { method: "POST", headers: { "content-type": "image/png", ...world.a.RADIOLOGIST }, body, duplex: "half" } as RequestInit,
          cfg.deadlineMs,
        );
      });
      await new Promise((r) => setTimeout(r, 1000));
      const extra: Answer[] = [];
      for (let i = 0; i < 3; i++) extra.push(await upload(bombPng(64, 64, 8, 100 + i), "image/png", world.a.RADIOLOGIST));
      bodies.forEach((b, i) => {
        controllers[i]!.enqueue(new Uint8Array(b.subarray(100)));
        controllers[i]!.close();
      });
      const all = [...(await Promise.all(held)), ...extra];
      const busy = (a: Answer) => a.status === 429 && code(a) === "UPLOADS_BUSY" && /^[1-9]\d*$/.test(a.headers.get("retry-after") ?? "");
      const refusedSome = all.some(busy);
      return all.map((a, i): Observation => seen(`upload #${i}`, a, refusedSome && (a.status === 200 || busy(a))));
    },
  },
];
