// DICOM in to DICOM SR out through the real platform, with no GraphQL request for the analysis: the real chest CR
// files of ../shared/data (copies in test/fixtures/images, given new UIDs) are sent to a real Orthanc by C-STORE
// (dcmtk's storescu); the gateway's watcher ingests them into the tenant that maps the calling AE title (which
// de-identifies by default); the real worker analyses them; the grounded SR goes back into Orthanc in the study the
// film was SENT in (not the platform's pseudonymous one), passes dciodvfy, and reads back with pydicom to the same
// findings, boxes and sentences the GraphQL API returns. The second film is the first one labelled MONOCHROME1
// without inverted pixels: read correctly it is an inverted film, and its SR carries no findings.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { createPlatformClient, login } from "../../lib/client/index.ts";
import { createDicomWebClient } from "../../lib/interop/dicomweb/client.ts";
import { orthancInstalled } from "../../lib/stack/orthanc.ts";
import { startConsoleStack } from "../console/stack.ts";

const fixtures = fileURLToPath(new URL("../fixtures/images/", import.meta.url));
const FILMS = ["siim_cr_chest_pa_mono2.dcm", "siim_cr_chest_pa_photometric_flipped_mono1.dcm"];
const PYTHON = fileURLToPath(new URL("../../.venv/bin/python", import.meta.url));
const READ_SR = fileURLToPath(new URL("./read_sr.py", import.meta.url));
const hasTool = (name: string) => spawnSync("which", [name]).status === 0;
const hasPydicom = existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import pydicom"]).status === 0;
const ready = orthancInstalled() && ["storescu", "dcmodify", "dcmdump"].every(hasTool) && hasPydicom;

const tag = (file: string, t: string) => /\[([^\]]*)\]/.exec(execFileSync("dcmdump", ["+P", t, file], { encoding: "utf8" }))?.[1] ?? "";

const STUDY = `query($id: ID!) { study(id: $id) {
  source sourceAeTitle studyInstanceUid
  deliveries { kind trigger status sentId lastError { code message } }
  analyses { task status reliability { level }
    result { __typename
      ... on ClassificationResult { findings { label probability } }
      ... on LocalizationResult { boxes { label x1 y1 x2 y2 score } }
      ... on Report { sentences { text } } } } } }`;

interface SrRead {
  modality: string;
  study_uid: string;
  patient_id: string;
  findings: { label: string; probability: number; box: number[] | null; referenced_sop: string | null }[];
  sentences: string[];
}

test(
  "films sent by C-STORE are analysed without a GraphQL request; their SR joins the study they were sent in, passes dciodvfy and reads back with pydicom to the API's findings, boxes and sentences",
  { skip: ready ? false : "needs Orthanc, dcmtk and pydicom (npm run setup)", timeout: 600_000 },
  async (t) => {
    const stack = await startConsoleStack(t, { pacsIngest: true });
    const orthanc = stack.orthanc;
    assert.ok(orthanc);
    const client = createPlatformClient(stack.baseUrl, {
      token: await login(stack.baseUrl, stack.users.admin.email, stack.users.admin.password),
    });
    t.after(() => client.close());
    const mapped = await client.query<any>(
      `mutation { setPacsSource(input: { callingAeTitle: "WARD_CR", tasks: [] }) { errors { code } } }`,
    );
    assert.deepEqual(mapped.setPacsSource.errors, []);
    const settings = await client.query<any>(`mutation { updateDeliverySettings(input: { srMode: ON_COMPLETION }) { errors { code } } }`);
    assert.deepEqual(settings.updateDeliverySettings.errors, []);

    const dir = mkdtempSync(join(tmpdir(), "dicom-roundtrip-"));
    const sent = FILMS.map((name) => {
      const copy = join(dir, name);
      copyFileSync(join(fixtures, name), copy);
      execFileSync("dcmodify", ["-nb", "-gst", "-gse", "-gin", copy]);
      return { name, file: copy, studyUid: tag(copy, "0020,000d"), sopUid: tag(copy, "0008,0018"), patientId: tag(copy, "0010,0020") };
    });
    execFileSync("storescu", [
      "-xy",
      "-aet",
      "WARD_CR",
      "-aec",
      orthanc.aeTitle,
      "127.0.0.1",
      String(orthanc.dicomPort),
      ...sent.map((s) => s.file),
    ]);

    const deadline = Date.now() + 480_000;
    const until = async <T>(what: string, probe: () => Promise<T | null>): Promise<T> => {
      for (;;) {
        const v = await probe();
        if (v !== null) return v;
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}\n${stack.logs.slice(-30).join("\n")}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    const entries = await until("both films in the ingest log", async () => {
      const res = await client.query<any>(`query { pacsIngestLog(first: 10) { edges { node { outcome reason studyId } } } }`);
      const nodes = res.pacsIngestLog.edges.map((e: any) => e.node);
      return nodes.length >= 2 ? nodes : null;
    });
    assert.deepEqual(
      entries.map((n: any) => [n.outcome, n.reason]),
      [
        ["INGESTED", null],
        ["INGESTED", null],
      ],
    );

    const dicomweb = createDicomWebClient({ baseUrl: `${orthanc.url}/dicom-web`, credentials: orthanc.credentials });
    const studies = await Promise.all(
      entries.map((n: any) =>
        until(`the analyses and SR of study ${n.studyId}`, async () => {
          const s = (await client.query<any>(STUDY, { id: n.studyId })).study;
          const done = s.analyses.length === 4 && s.analyses.every((a: any) => a.status === "SUCCEEDED");
          const sr = s.deliveries.filter((d: any) => d.kind === "SR");
          return done && sr.length > 0 && sr.every((d: any) => d.status !== "PENDING") ? s : null;
        }),
      ),
    );

    const matched = new Set<string>();
    for (const study of studies) {
      assert.equal(study.source, "PACS");
      assert.equal(study.sourceAeTitle, "WARD_CR");
      const srs = study.deliveries.filter((d: any) => d.kind === "SR");
      assert.deepEqual(
        srs.map((d: any) => [d.trigger, d.status, d.lastError]),
        [["COMPLETION", "SENT", null]],
      );
      // the SR is in the study the film was sent in, next to the film, though the platform keeps the study under
      // a pseudonymous UID (the tenant de-identifies)
      const found = await findSr(
        dicomweb,
        sent.map((s) => s.studyUid).filter((u) => !matched.has(u)),
        srs[0].sentId,
      );
      assert.ok(found, `SR ${srs[0].sentId} is in none of the studies sent`);
      matched.add(found.studyUid);
      const origin = sent.find((s) => s.studyUid === found.studyUid)!;
      assert.notEqual(study.studyInstanceUid, origin.studyUid);

      const bytes = await dicomweb.retrieveInstance(found.studyUid, found.seriesUid, srs[0].sentId);
      const path = join(dir, `${srs[0].sentId}.dcm`);
      writeFileSync(path, bytes);
      if (hasTool("dciodvfy")) {
        const run = spawnSync("dciodvfy", [path], { encoding: "utf8" });
        assert.deepEqual(
          `${run.stdout}${run.stderr}`.split("\n").filter((l) => /^Error/.test(l)),
          [],
        );
      }
      const sr = JSON.parse(execFileSync(PYTHON, [READ_SR, path], { encoding: "utf8" })) as SrRead;
      assert.equal(sr.modality, "SR");
      assert.equal(sr.study_uid, origin.studyUid);
      assert.equal(sr.patient_id, origin.patientId);

      const byTask = (task: string) => study.analyses.find((a: any) => a.task === task);
      const classification = byTask("CLASSIFICATION");
      if (origin.name.includes("flipped")) {
        // MONOCHROME1 with pixels that were never inverted: read correctly, it is an inverted film, which the model
        // must not read; its SR says so and carries no findings or sentences
        assert.equal(classification.reliability.level, "ABSTAIN");
        assert.deepEqual([sr.findings, sr.sentences], [[], []]);
        continue;
      }
      assert.notEqual(classification.reliability.level, "ABSTAIN", "a real frontal film is read");
      const api = new Map<string, number>(classification.result.findings.map((f: any) => [f.label, f.probability]));
      assert.deepEqual(sr.findings.map((f) => f.label).sort(), [...api.keys()].sort());
      for (const f of sr.findings) assert.ok(Math.abs(f.probability - (api.get(f.label) as number)) < 1e-4, f.label);
      const boxes = byTask("LOCALIZATION").result.boxes as { label: string; x1: number; y1: number; x2: number; y2: number }[];
      const withBox = sr.findings.filter((f) => f.box);
      assert.ok(withBox.length > 0, "the SR carries boxes");
      for (const f of withBox) {
        // the SR's box is a closed polyline on the film the study was sent as
        assert.equal(f.referenced_sop, origin.sopUid);
        const [x1, y1, x2, , , y2] = f.box as number[];
        assert.ok(
          boxes.some((b) => b.label === f.label && [b.x1 - x1!, b.y1 - y1!, b.x2 - x2!, b.y2 - y2!].every((d) => Math.abs(d) < 0.01)),
          `box of ${f.label} is one the API returns`,
        );
      }
      assert.ok(sr.sentences.length > 0, "the SR carries the report's sentences");
      assert.deepEqual(
        sr.sentences,
        byTask("REPORT").result.sentences.map((s: any) => s.text),
      );
    }
    assert.equal(matched.size, 2);
  },
);

async function findSr(
  dicomweb: ReturnType<typeof createDicomWebClient>,
  studyUids: string[],
  sopUid: string,
): Promise<{ studyUid: string; seriesUid: string } | null> {
  for (const studyUid of studyUids) {
    const hit = (await dicomweb.searchInstances(studyUid)).find((i) => i["00080018"]?.Value?.[0] === sopUid);
    if (hit) return { studyUid, seriesUid: String(hit["0020000E"]?.Value?.[0] ?? hit["0020000e"]?.Value?.[0]) };
  }
  return null;
}
