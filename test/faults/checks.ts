// What the suite asserts at the end, from PostgreSQL and through GraphQL. Per requested analysis:
// lost: missing from the database, or SUCCEEDED without its result (no findings / no report / no answer);
// duplicated: more than one completion (AnalysisCompleted outbox events), a finding label twice, a second
// report or answer; GraphQL not showing the database's terminal state and result counts as lost; stuck: not terminal once the platform had time to settle.
import pg from "pg";
import { createPlatformClient } from "../../lib/client/index.ts";

const TERMINAL = ["SUCCEEDED", "FAILED", "CANCELLED"];

export interface AnalysisRow {
  id: string;
  task: string;
  status: string;
  findings: number;
  distinctLabels: number;
  reports: number;
  answers: number;
  completions: number;
}

export async function analysisRows(databaseUrl: string): Promise<Map<string, AnalysisRow>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<AnalysisRow>(`
      SELECT a.id, a.task::text AS task, a.status::text AS status,
        (SELECT count(*)::int FROM "FindingResult" f WHERE f."analysisId" = a.id) AS findings,
        (SELECT count(DISTINCT f.label)::int FROM "FindingResult" f WHERE f."analysisId" = a.id) AS "distinctLabels",
        (SELECT count(*)::int FROM "ReportResult" r WHERE r."analysisId" = a.id) AS reports,
        (SELECT count(*)::int FROM "VqaAnswer" v WHERE v."analysisId" = a.id) AS answers,
        (SELECT count(*)::int FROM "OutboxEvent" o WHERE o.payload->>'type' = 'AnalysisCompleted' AND o.payload->>'analysisId' = a.id) AS completions
      FROM "Analysis" a`);
    return new Map(rows.map((r) => [r.id, r]));
  } finally {
    await client.end();
  }
}

/** Terminal analyses now, or undefined while PostgreSQL does not answer (a fault in progress). */
export async function terminalCount(databaseUrl: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 1000, query_timeout: 2000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Analysis" WHERE status::text = ANY($1)`, [
      TERMINAL,
    ]);
    return rows[0]!.n;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface Verdict {
  analyses: number;
  succeeded: number;
  failed: number;
  lost: number;
  duplicated: number;
  stuck: number;
  missed_events: number;
  repeated_events: number;
  examples: Record<string, string[]>;
}

function hasResult(row: AnalysisRow): boolean {
  if (row.task === "CLASSIFICATION") return row.findings > 0;
  if (row.task === "REPORT") return row.reports === 1;
  if (row.task === "VQA") return row.answers === 1;
  return true; // LOCALIZATION: no box is a valid result
}

export async function verdict(options: {
  databaseUrl: string;
  gatewayUrl: string;
  apiKey: string;
  requested: Map<string, string[]>;
  received: Map<string, number>;
}): Promise<Verdict> {
  const rows = await analysisRows(options.databaseUrl);
  const client = createPlatformClient(options.gatewayUrl, { apiKey: options.apiKey });
  const viaGraphql = new Map<string, string>();
  for (const studyId of options.requested.keys()) {
    const data = await client.query<{
      study: { analyses: { id: string; status: string; result: { __typename: string } | null }[] } | null;
    }>(`query($id: ID!) { study(id: $id) { analyses { id status result { __typename } } } }`, { id: studyId });
    for (const a of data.study?.analyses ?? []) viaGraphql.set(a.id, `${a.status}:${a.result ? "result" : "none"}`);
  }
  const ids = [...options.requested.values()].flat();
  const v: Verdict = {
    analyses: ids.length,
    succeeded: 0,
    failed: 0,
    lost: 0,
    duplicated: 0,
    stuck: 0,
    missed_events: 0,
    repeated_events: 0,
    examples: {},
  };
  const note = (kind: string, id: string, why: string) => {
    const list = (v.examples[kind] ??= []);
    if (list.length < 5) list.push(`${id} ${why}`);
  };
  for (const id of ids) {
    const row = rows.get(id);
    if (!row) {
      v.lost += 1;
      note("lost", id, "not in the database");
      continue;
    }
    if (!TERMINAL.includes(row.status)) {
      v.stuck += 1;
      note("stuck", id, row.status);
      continue;
    }
    if (row.status === "SUCCEEDED") v.succeeded += 1;
    else v.failed += 1;
    if (row.status === "SUCCEEDED" && !hasResult(row)) {
      v.lost += 1;
      note("lost", id, `${row.task} SUCCEEDED without its result`);
    }
    // the API must show what the database holds: the terminal state, with its result when SUCCEEDED
    const graphql = viaGraphql.get(id);
    if (graphql?.split(":")[0] !== row.status || (row.status === "SUCCEEDED" && graphql !== "SUCCEEDED:result")) {
      v.lost += 1;
      note("lost", id, `database ${row.status}, GraphQL ${graphql ?? "not found"}`);
    }
    if (row.completions !== 1 || row.findings !== row.distinctLabels || row.reports > 1 || row.answers > 1) {
      v.duplicated += 1;
      note(
        "duplicated",
        id,
        `completions=${row.completions} findings=${row.findings}/${row.distinctLabels} reports=${row.reports} answers=${row.answers}`,
      );
    }
    const got = options.received.get(id) ?? 0;
    if (got === 0) {
      v.missed_events += 1;
      note("missed_events", id, row.status);
    } else if (got > 1) v.repeated_events += 1;
  }
  return v;
}
