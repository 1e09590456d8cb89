// Minimal DICOMweb client (PS3.18): STOW-RS to store instances, WADO-RS to read one back, QIDO-RS to search.
// Works against the local Orthanc or any DICOMweb server given its base URL and optional basic credentials.
import { randomBytes } from "node:crypto";

export interface DicomWebOptions {
  /** base URL of the DICOMweb service, e.g. http://127.0.0.1:8042/dicom-web */
  baseUrl: string;
  credentials?: { username: string; password: string } | null;
  timeoutMs?: number;
}

export class DicomWebError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "DicomWebError";
  }
}

export interface DicomWebClient {
  store(instances: Uint8Array[]): Promise<void>;
  retrieveInstance(studyUid: string, seriesUid: string, sopInstanceUid: string): Promise<Buffer>;
  searchInstances(studyUid: string): Promise<Record<string, { vr: string; Value?: unknown[] }>[]>;
}

const UID = /^[0-9.]{1,64}$/;

function checkUid(uid: string): string {
  if (!UID.test(uid)) throw new DicomWebError("malformed UID", 400);
  return uid;
}

// The first part of a multipart/related body (WADO-RS answers one part per instance).
function firstPart(body: Buffer, contentType: string): Buffer {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) throw new DicomWebError("multipart answer without boundary", 502);
  const delimiter = Buffer.from(`--${boundary}`);
  const start = body.indexOf(delimiter);
  const headersEnd = body.indexOf("\r\n\r\n", start);
  const end = body.indexOf(Buffer.from(`\r\n--${boundary}`), headersEnd);
  if (start < 0 || headersEnd < 0 || end < 0) throw new DicomWebError("malformed multipart answer", 502);
  return body.subarray(headersEnd + 4, end);
}

export function createDicomWebClient(options: DicomWebOptions): DicomWebClient {
  const base = options.baseUrl.replace(/\/+$/, "");
  const headers = (extra: Record<string, string>): Record<string, string> =>
    options.credentials
      ? {
          ...extra,
          authorization: `Basic ${Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString("base64")}`,
        }
      : extra;
  const call = async (path: string, init: RequestInit & { headers: Record<string, string> }): Promise<Response> => {
    const res = await fetch(`${base}${path}`, {
      ...init,
      headers: headers(init.headers),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    if (!res.ok) {
      await res.arrayBuffer();
      throw new DicomWebError(`DICOMweb ${init.method ?? "GET"} ${path.split("?")[0]} answered ${res.status}`, res.status);
    }
    return res;
  };
  return {
    async store(instances) {
      const boundary = `gkmvlp-${randomBytes(12).toString("hex")}`;
      const parts: Buffer[] = [];
      for (const instance of instances) {
        parts.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), Buffer.from(instance), Buffer.from("\r\n"));
      }
      parts.push(Buffer.from(`--${boundary}--\r\n`));
      const res = await call("/studies", {
        method: "POST",
        headers: { "content-type": `multipart/related; type="application/dicom"; boundary=${boundary}`, accept: "application/dicom+json" },
        body: Buffer.concat(parts),
      });
      const answer = (await res.json()) as Record<string, { Value?: unknown[] }>;
      // 00081198: Failed SOP Sequence
      if ((answer["00081198"]?.Value?.length ?? 0) > 0) throw new DicomWebError("the server refused an instance", 409);
    },
    async retrieveInstance(studyUid, seriesUid, sopInstanceUid) {
      const path = `/studies/${checkUid(studyUid)}/series/${checkUid(seriesUid)}/instances/${checkUid(sopInstanceUid)}`;
      const res = await call(path, { headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
      return firstPart(Buffer.from(await res.arrayBuffer()), res.headers.get("content-type") ?? "");
    },
    async searchInstances(studyUid) {
      const res = await call(`/studies/${checkUid(studyUid)}/instances`, { headers: { accept: "application/dicom+json" } });
      const text = await res.text();
      return text ? (JSON.parse(text) as Record<string, { vr: string; Value?: unknown[] }>[]) : [];
    },
  };
}
