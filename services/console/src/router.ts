/**
 * Hash routing (#/studies?status=ANALYSED, #/study/<id>): the gateway only has to serve
 * index.html at /console, with no server-side fallback for deep links.
 */
import type { ViewName } from "./access.ts";

export interface Route {
  view: ViewName | "login" | "unknown";
  params: Record<string, string>;
  query: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#\/?/, "");
  const [path = "", qs = ""] = raw.split("?", 2);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const query = new URLSearchParams(qs);
  const [head, id] = parts;
  switch (head) {
    case undefined:
      return { view: "unknown", params: {}, query };
    case "login":
      return { view: "login", params: {}, query };
    case "study":
      return id ? { view: "study", params: { id }, query } : { view: "studies", params: {}, query };
    case "dashboard":
    case "studies":
    case "upload":
    case "models":
    case "audit":
    case "pacs":
      return { view: head, params: {}, query };
    default:
      return { view: "unknown", params: {}, query };
  }
}

export function href(view: string, id?: string, query?: Record<string, string | undefined>): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== "") qs.set(k, v);
  const q = qs.toString();
  return `#/${view}${id ? `/${encodeURIComponent(id)}` : ""}${q ? `?${q}` : ""}`;
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}
