// The attacker's and the normal client's HTTP: every request has a deadline, and every answer is kept as raw
// text (the leak scan reads exactly what reached the client, not a parsed subset).
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** parsed JSON body, when it is JSON */
  json: any;
  ms: number;
  /** no answer within the deadline (status 0) */
  hung: boolean;
  /** the connection failed (reset, refused) */
  failed?: string;
}

export type HeaderMap = Record<string, string>;

export async function request(url: string, init: RequestInit, deadlineMs: number): Promise<Answer> {
  const t0 = performance.now();
  try {
    const r = await fetch(url, { ...init, signal: AbortSignal.timeout(deadlineMs) });
    const text = await r.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: r.status, headers: r.headers, text, json, ms: performance.now() - t0, hung: false };
  } catch (e) {
    const err = e as Error;
    const hung = err.name === "TimeoutError" || err.name === "AbortError";
    return {
      status: 0,
      headers: new Headers(),
      text: "",
      json: undefined,
      ms: performance.now() - t0,
      hung,
      failed: hung ? undefined : err.message,
    };
  }
}

export function gqlRequest(baseUrl: string, deadlineMs: number) {
  return (query: string, variables: Record<string, unknown> = {}, headers: HeaderMap = {}): Promise<Answer> =>
    request(
      `${baseUrl}/graphql`,
      { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ query, variables }) },
      deadlineMs,
    );
}

/** `extensions.code` of the first GraphQL error, if any */
export const errorCode = (a: Answer): string | undefined => a.json?.errors?.[0]?.extensions?.code;

/** the `errors { code }` of a mutation payload: data[field].errors[0].code */
export const payloadCode = (a: Answer, field: string): string | undefined => a.json?.data?.[field]?.errors?.[0]?.code;

/** true when a request was turned away for rate: HTTP 429 with Retry-After, or a RATE_LIMITED error code */
export function rateLimited(a: Answer): boolean {
  if (a.status === 429 && /^\d+$/.test(a.headers.get("retry-after") ?? "")) return true;
  return JSON.stringify(a.json?.errors ?? []).includes('"RATE_LIMITED"');
}
