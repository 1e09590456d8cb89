// Security headers on every HTTP response of the gateway (GraphQL, uploads, images, health, console).
// The CSP fits the console (services/console): one module script and one stylesheet from /console/assets,
// `fetch` and graphql-ws to this origin, display PNGs decoded with createImageBitmap, a `data:` favicon, and
// `style="width:…"` attributes on the probability bars (hence 'unsafe-inline' for styles only; scripts get
// no inline, no eval). ws:/wss: are named for this host because older browsers do not let 'self' cover them.
// HSTS only on HTTPS: a TLS socket here, or `x-forwarded-proto: https` from a proxy the config trusts.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";

export interface SecurityHeaderOptions {
  trustProxy: boolean;
  hstsMaxAgeSeconds: number;
}

/** host[:port] as sent, when it is a plain host name, IPv4 or bracketed IPv6 literal (else not echoed). */
const SAFE_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export function contentSecurityPolicy(host: string | undefined): string {
  const sockets = host && SAFE_HOST.test(host) ? ` ws://${host} wss://${host}` : "";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self'${sockets}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join("; ");
}

export function isHttps(req: IncomingMessage, trustProxy: boolean): boolean {
  if ((req.socket as Partial<TLSSocket>).encrypted === true) return true;
  if (!trustProxy) return false;
  const forwarded = req.headers["x-forwarded-proto"];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim().toLowerCase();
  return first === "https";
}

export function setSecurityHeaders(req: IncomingMessage, res: ServerResponse, options: SecurityHeaderOptions): void {
  res.setHeader("content-security-policy", contentSecurityPolicy(req.headers.host));
  res.setHeader("x-content-type-options", "nosniff");
  res.setHeader("referrer-policy", "no-referrer");
  res.setHeader("x-frame-options", "DENY");
  res.setHeader("cross-origin-opener-policy", "same-origin");
  res.setHeader("cross-origin-resource-policy", "same-origin");
  res.setHeader("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()");
  if (options.hstsMaxAgeSeconds > 0 && isHttps(req, options.trustProxy)) {
    res.setHeader("strict-transport-security", `max-age=${options.hstsMaxAgeSeconds}; includeSubDomains`);
  }
}
