// DICOM in by STOW-RS through the gateway, tenant by API key: the real Orthanc, PostgreSQL, Kafka, gateway (with its
// ingest watcher) and worker. A film stored with tenant A's key is analysed in tenant A with no GraphQL request; the
// lateral beside it is logged LATERAL in A; a part that is not DICOM gets a Failed SOP item with its reason; no key,
// a person's token or a role that may not upload are refused with nothing stored; an over-limit body is refused
// before anything reaches the PACS; tenant B sending the same instance is refused without moving or showing A's.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { createPlatformClient, login } from "../../lib/client/index.ts";
import { orthancInstalled } from "../../lib/stack/orthanc.ts";
import { startConsoleStack } from "../console/stack.ts";

const FIXTURE = fileURLToPath(new URL("../fixtures/images/siim_cr_chest_pa_mono2.dcm", import.meta.url));
const hasTool = (name: string) => spawnSync("which", [name]).status === 0;
const ready = orthancInstalled() && ["dcmodify", "dcmdump"].every(hasTool);
const BOUNDARY = "stow-test-boundary-1";
const MAX_BODY = 1024 * 1024;

const tag = (file: string, t: string) => /\[([^\]]*)\]/.exec(execFileSync("dcmdump", ["+P", t, file], { encoding: "utf8" }))?.[1] ?? "";

function related(parts: { type: string; body: Buffer }[]): Buffer {
  const chunks = parts.flatMap((p) => [Buffer.from(`--${BOUNDARY}\r\nContent-Type: ${p.type}\r\n\r\n`), p.body, Buffer.from("\r\n")]);
  return Buffer.concat([...chunks, Buffer.from(`--${BOUNDARY}--\r\n`)]);
}

const seq = (body: any, tagId: string): any[] => body?.[tagId]?.Value ?? [];
const uidsOf = (items: any[]) => items.map((i) => i["00081155"]?.Value?.[0] ?? null);
const reasonsOf = (items: any[]) => items.map((i) => i["00081197"].Value[0]);

test(
  "STOW-RS with tenant A's API key lands the film in tenant A and has it analysed without a GraphQL request; refusals store nothing; tenant B cannot take A's instance",
  { skip: ready ? false : "needs Orthanc and dcmtk (npm run setup)", timeout: 600_000 },
  async (t) => {
    const stack = await startConsoleStack(t, { pacsIngest: true, gatewayEnv: { STOW_MAX_BODY_BYTES: String(MAX_BODY) } });
    const orthanc = stack.orthanc!;
    const repos = stack.repos;
    const a = stack.tenantId;
    const b = (await repos.tenants.create({ slug: `stow-b-${Date.now()}`, name: "B" })).id;
    const keyA = (await repos.apiKeys.create({ tenantId: a, name: "ward pacs", role: "CLINICIAN" })).key;
    const auditorA = (await repos.apiKeys.create({ tenantId: a, name: "auditor app", role: "AUDITOR" })).key;
    const keyB = (await repos.apiKeys.create({ tenantId: b, name: "b pacs", role: "CLINICIAN" })).key;
    const token = await login(stack.baseUrl, stack.users.admin.email, stack.users.admin.password);

    const dir = mkdtempSync(join(tmpdir(), "stow-rs-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const film = (name: string, modify: string[]) => {
      const path = join(dir, `${name}.dcm`);
      copyFileSync(FIXTURE, path);
      execFileSync("dcmodify", ["-nb", "-gst", "-gse", "-gin", ...modify.flatMap((m) => ["-m", m]), path]);
      return { bytes: readFileSync(path), sopUid: tag(path, "0008,0018") };
    };
    const frontal = film("frontal", []);
    const lateral = film("lateral", ["(0018,5101)=LL"]);
    const orthancAuth = `Basic ${Buffer.from(`${orthanc.credentials.username}:${orthanc.credentials.password}`).toString("base64")}`;
    const instancesInPacs = async () =>
      ((await (await fetch(`${orthanc.url}/instances`, { headers: { authorization: orthancAuth } })).json()) as string[]).length;
    const stow = (body: Buffer, headers: Record<string, string>) =>
      fetch(`${stack.baseUrl}/dicomweb/studies`, {
        method: "POST",
        headers: { "content-type": `multipart/related; type="application/dicom"; boundary=${BOUNDARY}`, ...headers },
        body: new Uint8Array(body),
      });
    const one = related([{ type: "application/dicom", body: frontal.bytes }]);

    // refusals first: nothing may reach the PACS or the claims
    assert.equal((await stow(one, {})).status, 401, "no credentials");
    assert.equal((await stow(one, { "x-api-key": "gk_not-a-key" })).status, 401, "unknown key");
    assert.equal((await stow(one, { "x-api-key": auditorA })).status, 403, "a role that may not upload");
    assert.equal((await stow(one, { authorization: `Bearer ${token}` })).status, 403, "a person's session token");
    const tooBig = await stow(Buffer.alloc(MAX_BODY + 1), { "x-api-key": keyA });
    assert.equal(tooBig.status, 413);
    assert.equal(((await tooBig.json()) as any).error.code, "TOO_LARGE");
    const wrongType = await fetch(`${stack.baseUrl}/dicomweb/studies`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": keyA },
      body: "{}",
    });
    assert.equal(wrongType.status, 415);
    assert.equal(await instancesInPacs(), 0, "no refused request reached the PACS");
    assert.equal((await repos.pacsIngest.listLog(a, 10)).length, 0);

    // tenant A stores a frontal film, a lateral one and a part that is not DICOM
    const res = await stow(
      related([
        { type: "application/dicom", body: frontal.bytes },
        { type: "application/dicom", body: lateral.bytes },
        { type: "application/dicom", body: Buffer.from("this is not a DICOM file") },
      ]),
      { "x-api-key": keyA },
    );
    assert.equal(res.status, 202, "some stored, some failed");
    assert.match(res.headers.get("content-type") ?? "", /^application\/dicom\+json/);
    const body = (await res.json()) as any;
    assert.deepEqual(uidsOf(seq(body, "00081199")).sort(), [frontal.sopUid, lateral.sopUid].sort());
    assert.deepEqual(reasonsOf(seq(body, "00081198")), [0xc000], "the non-DICOM part fails with 'cannot understand'");
    assert.equal(await instancesInPacs(), 2);

    // ingested into tenant A by the watcher, analysed by the worker: no GraphQL request asked for it
    const deadline = Date.now() + 480_000;
    const until = async <T>(what: string, probe: () => Promise<T | null>): Promise<T> => {
      for (;;) {
        const v = await probe();
        if (v !== null) return v;
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}\n${stack.logs.slice(-30).join("\n")}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    const log = await until("both instances in A's ingest log", async () => {
      const rows = await repos.pacsIngest.listLog(a, 10);
      return rows.length === 2 ? rows : null;
    });
    assert.deepEqual(log.map((r) => `${r.outcome}:${r.reason ?? ""}`).sort(), ["INGESTED:", "SKIPPED:LATERAL"]);
    assert.ok(log.every((r) => r.callingAet === null));
    const studyId = log.find((r) => r.outcome === "INGESTED")!.studyId!;
    const client = createPlatformClient(stack.baseUrl, { token });
    t.after(() => client.close());
    const study = await until("the four analyses of the STOW-RS film", async () => {
      const s = (await client.query<any>(`query($id: ID!) { study(id: $id) { source analyses { task status } } }`, { id: studyId })).study;
      return s.analyses.length === 4 && s.analyses.every((x: any) => x.status === "SUCCEEDED" || x.status === "FAILED") ? s : null;
    });
    assert.equal(study.source, "PACS");
    assert.deepEqual(study.analyses.map((x: any) => `${x.task}:${x.status}`).sort(), [
      "CLASSIFICATION:SUCCEEDED",
      "LOCALIZATION:SUCCEEDED",
      "REPORT:SUCCEEDED",
      "VQA:SUCCEEDED",
    ]);

    // tenant B sends the very same instance: refused as a duplicate, A's instance and study stay A's
    const fromB = await stow(one, { "x-api-key": keyB });
    assert.equal(fromB.status, 409);
    const bBody = (await fromB.json()) as any;
    assert.deepEqual(reasonsOf(seq(bBody, "00081198")), [0x0111]);
    assert.deepEqual(seq(bBody, "00081199"), []);
    // A resending it is answered as stored (the same claim), and nothing is ingested twice
    const again = await stow(one, { "x-api-key": keyA });
    assert.equal(again.status, 200);
    await new Promise((r) => setTimeout(r, 1000)); // a few watcher polls
    assert.equal(await instancesInPacs(), 2);
    assert.equal((await repos.pacsIngest.listLog(a, 10)).length, 2);
    assert.deepEqual(await repos.pacsIngest.listLog(b, 10), [], "tenant B got nothing");
    assert.equal(await repos.studies.findById(b, studyId), null);
    assert.ok(await repos.studies.findById(a, studyId));
    assert.ok(!stack.logs.some((l) => l.includes("Orthanc id differs")), "the claim's id is the one Orthanc gives");
  },
);
