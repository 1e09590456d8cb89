// What the attacks are aimed at: an attacker tenant (A) with a user per role, an API key and a few studies, and
// a victim tenant (B) whose patient, study, image and analysis carry marker strings. Users and keys come from the
// platform's repositories (as `npm start` seeds them); everything else through the public API.
import { randomBytes } from "node:crypto";
import { PNG } from "pngjs";
import { seedDemo, type DemoSeed } from "../../lib/db/index.ts";
import { gqlRequest, request, type Answer, type HeaderMap } from "./http.ts";
import type { Platform } from "./platform.ts";

type RoleName = "ADMIN" | "RADIOLOGIST" | "CLINICIAN" | "AUDITOR";

export interface World {
  a: Record<RoleName, HeaderMap>;
  b: Record<RoleName, HeaderMap>;
  apiKeyA: HeaderMap;
  /** a second session of tenant A's clinician, for the logout attack */
  spareToken: string;
  seedA: DemoSeed;
  seedB: DemoSeed;
  ownStudyId: string;
  ownUploadId: string;
  victim: { patientId: string; studyId: string; imageId: string; imageUrl: string; analysisId: string; uploadId: string; userId: string };
  /** strings only tenant B may ever see */
  secrets: string[];
  modelId: string;
}

/** a small valid 8-bit grayscale PNG, distinct per seed */
export function grayPng(width: number, height: number, seed: number): Buffer {
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  for (let i = 0; i < width * height; i++) png.data[i] = (i * 7 + seed * 13 + (i >> 5)) % 256;
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}

function must(a: Answer, path: string[]): any {
  let v = a.json;
  for (const p of path) v = v?.[p];
  if (v === undefined || v === null || a.json?.errors)
    throw new Error(`setup request failed (${path.join(".")}): ${a.status} ${a.text.slice(0, 300)}`);
  return v;
}

export async function buildWorld(p: Platform, deadlineMs: number, log: (l: string) => void): Promise<World> {
  const gql = gqlRequest(p.gatewayUrl, deadlineMs);
  const tag = randomBytes(4).toString("hex");
  const seedA = await seedDemo(p.repos, {
    tenantSlug: "adv-a",
    tenantName: "Attacker Clinic",
    apiKey: `gk_adv_a_${randomBytes(16).toString("hex")}`,
  });
  const seedB = await seedDemo(p.repos, {
    tenantSlug: "adv-b",
    tenantName: `Victim Hospital ${tag}`,
    apiKey: `gk_adv_b_${randomBytes(16).toString("hex")}`,
  });
  const login = async (email: string, password: string) =>
    must(
      await gql(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token errors { code } } }`, {
        e: email,
        p: password,
      }),
      ["data", "login", "token"],
    ) as string;
  const bearers = async (seed: DemoSeed) => {
    const out = {} as Record<RoleName, HeaderMap>;
    for (const u of seed.users)
      if (u.role !== "WORKER") out[u.role as RoleName] = { authorization: `Bearer ${await login(u.email, u.password)}` };
    return out;
  };
  const a = await bearers(seedA);
  const b = await bearers(seedB);
  const clinicianA = seedA.users.find((u) => u.role === "CLINICIAN")!;
  const spareToken = await login(clinicianA.email, clinicianA.password);

  const studyOf = async (auth: HeaderMap, mrn: string, extra: { displayName?: string; accession?: string } = {}) => {
    const pid = must(
      await gql(
        `mutation($m: String!, $n: String) { createPatient(input: { externalId: $m, displayName: $n }) { patient { id } errors { code } } }`,
        { m: mrn, n: extra.displayName ?? null },
        auth,
      ),
      ["data", "createPatient", "patient", "id"],
    ) as string;
    const sid = must(
      await gql(
        `mutation($p: ID!, $a: String) { createStudy(input: { patientId: $p, accessionNumber: $a }) { study { id } errors { code } } }`,
        { p: pid, a: extra.accession ?? null },
        auth,
      ),
      ["data", "createStudy", "study", "id"],
    ) as string;
    return { patientId: pid, studyId: sid };
  };
  const upload = async (auth: HeaderMap, seed: number) => {
    const r = await request(
      `${p.gatewayUrl}/upload`,
      { method: "POST", headers: { "content-type": "image/png", ...auth }, body: new Uint8Array(grayPng(96, 96, seed)) },
      deadlineMs,
    );
    return { uploadId: must(r, ["uploadId"]) as string, sha256: must(r, ["sha256"]) as string };
  };

  // the attacker's own data: a page of studies for the normal client, a study and an unattached upload
  for (let i = 0; i < 5; i++) await studyOf(a.RADIOLOGIST, `A-${tag}-${i}`);
  const own = await studyOf(a.RADIOLOGIST, `A-${tag}-own`);
  const ownUpload = await upload(a.RADIOLOGIST, 1);

  const secret = { mrn: `VICTIM-MRN-${tag}`, name: `Victim^Patient${tag}`, accession: `VICTIM-ACC-${tag}` };
  const v = await studyOf(b.RADIOLOGIST, secret.mrn, { displayName: secret.name, accession: secret.accession });
  const vUpload = await upload(b.RADIOLOGIST, 2);
  const image = must(
    await gql(
      `mutation($s: ID!, $u: ID!) { attachImage(input: { studyId: $s, uploadId: $u }) { image { id url } errors { code } } }`,
      { s: v.studyId, u: vUpload.uploadId },
      b.RADIOLOGIST,
    ),
    ["data", "attachImage", "image"],
  );
  const analysisId = must(
    await gql(
      `mutation($s: ID!) { requestAnalyses(input: { studyId: $s, tasks: [CLASSIFICATION], idempotencyKey: "victim-1" }) { analyses { id } errors { code } } }`,
      { s: v.studyId },
      b.RADIOLOGIST,
    ),
    ["data", "requestAnalyses", "analyses", "0", "id"],
  ) as string;
  // a second, unattached upload of the victim's, for the cross-tenant attach
  const vLoose = await upload(b.RADIOLOGIST, 3);
  const models = must(await gql(`{ models { id status } }`, {}, a.ADMIN), ["data", "models"]) as { id: string; status: string }[];
  if (!models.length) throw new Error("no model version registered by the worker");
  // let the victim's analysis finish first, so the worker is idle while the attacks run
  const deadline = Date.now() + 180_000;
  for (;;) {
    const s = await gql(`query($a: ID!) { analysis(id: $a) { status } }`, { a: analysisId }, b.RADIOLOGIST);
    const status = s.json?.data?.analysis?.status;
    if (status === "SUCCEEDED" || status === "FAILED") break;
    if (Date.now() > deadline) throw new Error(`the victim's analysis did not finish (last status ${status})`);
    await new Promise((r) => setTimeout(r, 500));
  }
  log(`world ready: tenant A (attacker) and tenant B (victim, marker ${tag})`);
  return {
    a,
    b,
    apiKeyA: { "x-api-key": seedA.apiKey },
    spareToken,
    seedA,
    seedB,
    ownStudyId: own.studyId,
    ownUploadId: ownUpload.uploadId,
    victim: {
      ...v,
      imageId: image.id,
      imageUrl: image.url,
      analysisId,
      uploadId: vLoose.uploadId,
      userId: seedB.users.find((u) => u.role === "RADIOLOGIST")!.id,
    },
    secrets: [
      secret.mrn,
      secret.name,
      secret.accession,
      `Victim Hospital ${tag}`,
      vUpload.sha256,
      vLoose.sha256,
      ...seedB.users.map((u) => u.email),
      seedB.apiKey,
    ],
    modelId: models[0]!.id,
  };
}
