// Serves the console's built assets (services/console/dist) under /console: correct content types,
// no path traversal, and index.html for any path that is not a file (client-side routing).
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
};

export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream";
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * Handles GET/HEAD for `prefix` (e.g. "/console"). Returns false when the request is not under the prefix.
 */
export function createStaticHandler(rootDir: string, prefix: string) {
  const root = path.resolve(rootDir);
  return async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> => {
    if (pathname !== prefix && !pathname.startsWith(`${prefix}/`)) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return true;
    }
    if (pathname === prefix) {
      res.writeHead(308, { location: `${prefix}/` }).end();
      return true;
    }
    let relative: string;
    try {
      relative = decodeURIComponent(pathname.slice(prefix.length + 1));
    } catch {
      res.writeHead(400).end();
      return true;
    }
    const candidate = path.resolve(root, relative || "index.html");
    if (candidate !== root && !candidate.startsWith(root + path.sep)) {
      res.writeHead(404).end();
      return true;
    }
    let file = candidate;
    let fallback = false;
    if (!(await isFile(file))) {
      // Missing asset with an extension: a real 404 (a missing .js must not turn into HTML).
      if (path.extname(relative) !== "") {
        res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("Not found");
        return true;
      }
      file = path.join(root, "index.html");
      fallback = true;
      if (!(await isFile(file))) {
        res
          .writeHead(503, { "content-type": "text/plain; charset=utf-8" })
          .end("The console is not built: run the console build so that services/console/dist exists.");
        return true;
      }
    }
    const info = await stat(file);
    const hashed = /[.-][0-9a-zA-Z_-]{8,}\.(js|css|woff2?|png|svg)$/.test(file);
    res.writeHead(200, {
      "content-type": contentTypeFor(file),
      "content-length": info.size,
      "cache-control":
        fallback || file.endsWith(".html") ? "no-cache" : hashed ? "public, max-age=31536000, immutable" : "public, max-age=300",
      "x-content-type-options": "nosniff",
    });
    if (req.method === "HEAD") {
      res.end();
      return true;
    }
    createReadStream(file).pipe(res);
    return true;
  };
}
