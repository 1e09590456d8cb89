// multipart/related (RFC 2387) as STOW-RS sends it: the body is already read (bounded), split here into parts with
// Buffer.indexOf, so the cost is linear in the body, and the part count is checked as parts are found, before any
// part is looked at.

export interface RelatedPart {
  /** lower-cased header names */
  headers: Record<string, string>;
  body: Buffer;
}

export class MultipartError extends Error {
  constructor(
    readonly code: "BAD_REQUEST" | "TOO_MANY_PARTS",
    message: string,
  ) {
    super(message);
  }
}

/** The Content-Type's media type and parameters (names lower-cased, quotes removed). */
export function parseContentType(value: string): { type: string; params: Record<string, string> } {
  const [type = "", ...rest] = value.split(";");
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf("=");
    if (eq < 0) continue;
    const v = p.slice(eq + 1).trim();
    params[p.slice(0, eq).trim().toLowerCase()] = v.startsWith('"') && v.endsWith('"') && v.length >= 2 ? v.slice(1, -1) : v;
  }
  return { type: type.trim().toLowerCase(), params };
}

// RFC 2046: 1 to 70 characters of a restricted set
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{1,70}$/;

export function splitRelated(body: Buffer, boundary: string, maxParts: number): RelatedPart[] {
  if (!BOUNDARY.test(boundary)) throw new MultipartError("BAD_REQUEST", "The multipart boundary is missing or malformed.");
  const delimiter = Buffer.from(`--${boundary}`, "latin1");
  const next = Buffer.from(`\r\n--${boundary}`, "latin1");
  let at = body.indexOf(delimiter);
  if (at < 0) throw new MultipartError("BAD_REQUEST", "The body has no part delimited by the boundary.");
  at += delimiter.length;
  const parts: RelatedPart[] = [];
  for (;;) {
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return parts; // "--": the close delimiter
    const lineEnd = body.indexOf("\r\n", at);
    if (lineEnd < 0) throw new MultipartError("BAD_REQUEST", "A multipart delimiter line is not terminated.");
    const start = lineEnd + 2;
    const end = delimiterAt(body, next, start);
    if (end < 0) throw new MultipartError("BAD_REQUEST", "The multipart body has no close delimiter.");
    if (parts.length === maxParts) throw new MultipartError("TOO_MANY_PARTS", `A request may carry at most ${maxParts} parts.`);
    parts.push(part(body.subarray(start, end)));
    at = end + next.length;
  }
}

/**
 * The next delimiter line: CRLF "--" boundary, then "--" (the close) or optional white space and CRLF. The same text
 * followed by anything else is part of the content (RFC 2046 5.1.1); the search goes on after it, so stays linear.
 */
function delimiterAt(body: Buffer, next: Buffer, from: number): number {
  for (let at = body.indexOf(next, from); at >= 0; at = body.indexOf(next, at + 1)) {
    let i = at + next.length;
    if (body[i] === 0x2d && body[i + 1] === 0x2d) return at;
    while (body[i] === 0x20 || body[i] === 0x09) i++;
    if (body[i] === 0x0d && body[i + 1] === 0x0a) return at;
  }
  return -1;
}

function part(raw: Buffer): RelatedPart {
  const split = raw.indexOf("\r\n\r\n");
  // a part with no header block starts with the empty line itself
  const headerEnd = raw.subarray(0, 2).toString("latin1") === "\r\n" ? 0 : split;
  if (headerEnd < 0) throw new MultipartError("BAD_REQUEST", "A part has no end of its headers.");
  const headers: Record<string, string> = {};
  const block = raw.subarray(0, headerEnd).toString("latin1");
  if (block.length > 8192) throw new MultipartError("BAD_REQUEST", "A part's headers exceed 8 KiB.");
  for (const line of block.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: raw.subarray(headerEnd === 0 ? 2 : headerEnd + 4) };
}
