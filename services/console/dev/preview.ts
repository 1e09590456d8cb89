/**
 * LAYOUT PREVIEW ONLY — not part of the product and not used by the tests. Serves the built
 * console with canned GraphQL answers (from schema.graphql, executed by graphql-js) so the views
 * can be looked at without the gateway, PostgreSQL, Kafka and workers. No subscriptions.
 *
 *   node --import tsx services/console/build.ts && node --import tsx services/console/dev/preview.ts [port]
 */
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { join, dirname, extname } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSchema, graphql } from "graphql";
import { fixtures } from "./fixtures.ts";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const dist = join(here, "..", "dist");
const schema = buildSchema(await readFile(join(root, "schema.graphql"), "utf8"));
const data = fixtures();
const IMAGE = "/work/shared/data/classification_nih14/images/00000075_000.png";
const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".map": "application/json" };

const roleOf = (email: string) => (email.split("@")[0] ?? "admin").toUpperCase();
let role = "ADMIN";

const rootValue = {
  viewer: () => data.viewer(role),
  login: ({ email, password }: { email: string; password: string }) => {
    if (password !== "demo") return { token: null, viewer: null, errors: [{ code: "VALIDATION", message: "Wrong email or password." }] };
    role = ["ADMIN", "RADIOLOGIST", "CLINICIAN", "AUDITOR"].includes(roleOf(email)) ? roleOf(email) : "ADMIN";
    return { token: `preview-${role}`, viewer: data.viewer(role), errors: [] };
  },
  studies: ({ filter }: { filter?: { search?: string; status?: string } }) => {
    let list = data.studies;
    if (filter?.search)
      list = list.filter(
        (s) => s.patient.externalId.startsWith(filter.search as string) || (s.accessionNumber ?? "").startsWith(filter.search as string),
      );
    if (filter?.status) list = list.filter((s) => s.status === filter.status);
    return {
      totalCount: list.length,
      pageInfo: { hasNextPage: false, endCursor: null },
      edges: list.map((s) => ({ cursor: s.id, node: s })),
    };
  },
  study: ({ id }: { id: string }) => data.studies.find((s) => s.id === id) ?? null,
  labels: () => data.labels,
  regions: () => data.regions,
  queue: () => data.queue,
  workers: () => data.workers,
  models: () => data.models,
  auditEvents: () => ({ pageInfo: { hasNextPage: false, endCursor: null }, edges: data.audit.map((a) => ({ cursor: a.id, node: a })) }),
  reviewReport: () => ({
    review: null,
    report: null,
    errors: [{ code: "INVALID_STATE", message: "Preview server: reviews are not stored." }],
  }),
  askQuestion: () => ({ analysis: null, errors: [{ code: "INVALID_STATE", message: "Preview server: no workers." }] }),
};

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  try {
    if (url.pathname === "/graphql" && req.method === "POST") {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { query: string; variables?: Record<string, unknown> };
      const out = await graphql({ schema, source: body.query, rootValue, variableValues: body.variables });
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out));
    } else if (url.pathname.startsWith("/images/")) {
      res.writeHead(200, { "content-type": "image/png" }).end(await readFile(IMAGE));
    } else if (url.pathname === "/upload") {
      for await (const _ of req) {
        /* drain */
      }
      res
        .writeHead(415, { "content-type": "application/json" })
        .end(JSON.stringify({ error: { code: "VALIDATION", message: "Preview server: uploads are not stored." } }));
    } else if (url.pathname === "/console" || url.pathname === "/console/") {
      res.writeHead(200, { "content-type": "text/html" }).end(await readFile(join(dist, "index.html")));
    } else if (url.pathname.startsWith("/console/assets/")) {
      const file = join(dist, "assets", url.pathname.slice("/console/assets/".length).replace(/\.\./g, ""));
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(await readFile(file));
    } else {
      res.writeHead(404).end("not found");
    }
  } catch (err) {
    res.writeHead(500).end(String(err));
  }
});
const port = Number(process.argv[2] ?? 4319);
server.listen(port, "127.0.0.1", () =>
  console.log(`layout preview at http://127.0.0.1:${port}/console (password "demo"; role from the email, e.g. clinician@x)`),
);
