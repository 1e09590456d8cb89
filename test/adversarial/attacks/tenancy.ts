// Tenancy and roles: tenant A's users aim every id-taking query, mutation, route and subscription at tenant B's
// objects, try mutations their role does not allow, and a tenant ADMIN tries to change the platform's model.
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import type { Observation } from "../classify.ts";
import { errorCode, payloadCode, request, type Answer } from "../http.ts";
import { seen, type Attack } from "./types.ts";

const notFound = (a: Answer, field: string) => a.status === 200 && payloadCode(a, field) === "NOT_FOUND";
const forbidden = (a: Answer, field: string) => errorCode(a) === "FORBIDDEN" || payloadCode(a, field) === "FORBIDDEN";

export const tenancyAttacks: Attack[] = [
  {
    name: "other tenant's ids on every id-taking query",
    family: "tenancy",
    repeat: 2,
    async run({ gql, world }) {
      const v = world.victim;
      const q = await gql(
        `query($p: ID!, $s: ID!, $a: ID!) { patient(id: $p) { id externalId } study(id: $s) { id accessionNumber } analysis(id: $a) { id status } }`,
        { p: v.patientId, s: v.studyId, a: v.analysisId },
        world.a.ADMIN,
      );
      const byFilter = await gql(
        `query($p: ID!) { studies(filter: { patientId: $p }) { totalCount edges { node { id } } } }`,
        { p: v.patientId },
        world.a.RADIOLOGIST,
      );
      const search = await gql(
        `query($q: String!) { patients(search: $q) { totalCount } studies(filter: { search: $q }) { totalCount } }`,
        { q: "VICTIM" },
        world.a.RADIOLOGIST,
      );
      const d = q.json?.data;
      return [
        seen(
          "patient/study/analysis by id",
          q,
          q.status === 200 && !q.json?.errors && d?.patient === null && d?.study === null && d?.analysis === null,
        ),
        seen("studies(filter: { patientId })", byFilter, byFilter.json?.data?.studies?.totalCount === 0),
        seen(
          "search for the victim's MRN",
          search,
          search.json?.data?.patients?.totalCount === 0 && search.json?.data?.studies?.totalCount === 0,
        ),
      ];
    },
  },
  {
    name: "other tenant's ids on every id-taking mutation",
    family: "tenancy",
    async run({ gql, world }) {
      const v = world.victim;
      const auth = world.a.ADMIN;
      const out: Observation[] = [];
      const m = async (what: string, field: string, doc: string, vars: Record<string, unknown>) => {
        const a = await gql(doc, vars, auth);
        out.push(seen(what, a, notFound(a, field)));
      };
      await m(
        "createStudy on their patient",
        "createStudy",
        `mutation($p: ID!) { createStudy(input: { patientId: $p }) { study { id } errors { code } } }`,
        { p: v.patientId },
      );
      await m(
        "attachImage to their study",
        "attachImage",
        `mutation($s: ID!, $u: ID!) { attachImage(input: { studyId: $s, uploadId: $u }) { image { id } errors { code } } }`,
        { s: v.studyId, u: world.ownUploadId },
      );
      await m(
        "attachImage of their upload",
        "attachImage",
        `mutation($s: ID!, $u: ID!) { attachImage(input: { studyId: $s, uploadId: $u }) { image { id } errors { code } } }`,
        { s: world.ownStudyId, u: v.uploadId },
      );
      await m(
        "requestAnalyses on their study",
        "requestAnalyses",
        `mutation($s: ID!) { requestAnalyses(input: { studyId: $s, tasks: [CLASSIFICATION] }) { analyses { id } errors { code } } }`,
        { s: v.studyId },
      );
      await m(
        "requestAnalyses with their image",
        "requestAnalyses",
        `mutation($s: ID!, $i: ID!) { requestAnalyses(input: { studyId: $s, imageId: $i, tasks: [CLASSIFICATION] }) { analyses { id } errors { code } } }`,
        { s: world.ownStudyId, i: v.imageId },
      );
      await m(
        "askQuestion on their study",
        "askQuestion",
        `mutation($s: ID!) { askQuestion(studyId: $s, question: "Is there an effusion?") { analysis { id } errors { code } } }`,
        { s: v.studyId },
      );
      await m(
        "retryAnalysis of theirs",
        "retryAnalysis",
        `mutation($a: ID!) { retryAnalysis(id: $a) { analysis { id } errors { code } } }`,
        { a: v.analysisId },
      );
      await m(
        "cancelAnalysis of theirs",
        "cancelAnalysis",
        `mutation($a: ID!) { cancelAnalysis(id: $a) { analysis { id } errors { code } } }`,
        { a: v.analysisId },
      );
      await m(
        "reviewReport of theirs",
        "reviewReport",
        `mutation($a: ID!) { reviewReport(input: { analysisId: $a, action: REJECT }) { review { id } errors { code } } }`,
        { a: v.analysisId },
      );
      const revoke = await gql(`mutation($u: ID!) { revokeSessions(userId: $u) { revoked errors { code } } }`, { u: v.userId }, auth);
      out.push(
        seen("revokeSessions of their user", revoke, notFound(revoke, "revokeSessions") && revoke.json.data.revokeSessions.revoked === 0),
      );
      // and nothing changed on their side
      const theirs = await gql(
        `query($s: ID!) { study(id: $s) { images { id } analyses { id status } } }`,
        { s: v.studyId },
        world.b.RADIOLOGIST,
      );
      const s = theirs.json?.data?.study;
      out.push(
        seen(
          "victim's study unchanged",
          { ...theirs, text: "" },
          s?.images?.length === 1 && s?.analyses?.length === 1 && s.analyses[0].status === "SUCCEEDED",
        ),
      );
      const stillIn = await gql(`{ viewer { id } }`, {}, world.b.RADIOLOGIST);
      out.push(seen("victim's session still valid", { ...stillIn, text: "" }, stillIn.status === 200));
      return out;
    },
  },
  {
    name: "other tenant's image file by URL",
    family: "tenancy",
    repeat: 2,
    async run({ baseUrl, world, cfg }) {
      const url = `${baseUrl}${world.victim.imageUrl}`;
      const out: Observation[] = [];
      for (const [who, auth] of [
        ["tenant A admin", world.a.ADMIN],
        ["tenant A API key", world.apiKeyA],
        ["no credentials", {}],
      ] as const) {
        const a = await request(url, { headers: auth }, cfg.deadlineMs);
        out.push(seen(`GET their image as ${who}`, a, a.status === 404 || a.status === 401));
      }
      return out;
    },
  },
  {
    name: "subscription to another tenant's study",
    family: "tenancy",
    async run({ baseUrl, world, cfg }) {
      const result = await new Promise<{ text: string; errors: string; done: boolean }>((resolve) => {
        const client = createClient({
          url: `${baseUrl.replace("http", "ws")}/graphql`,
          webSocketImpl: WebSocket,
          connectionParams: world.a.ADMIN,
          retryAttempts: 0,
          lazy: false,
        });
        let text = "";
        let errors = "";
        const finish = (more: string, done: boolean) => {
          clearTimeout(timer);
          void client.dispose();
          resolve({ text, errors: errors + more, done });
        };
        const timer = setTimeout(() => finish("", false), cfg.deadlineMs);
        client.subscribe(
          {
            query: `subscription($s: ID!) { studyAnalysisUpdates(studyId: $s) { status analysis { id } } }`,
            variables: { s: world.victim.studyId },
          },
          {
            // the refusal arrives as a result with errors (graphql-ws), or as an error message
            next: (v) => {
              if (v.data) text += JSON.stringify(v.data);
              if (v.errors) errors += JSON.stringify(v.errors);
            },
            error: (e) => finish(JSON.stringify(e), true),
            complete: () => finish("", true),
          },
        );
      });
      const answer: Answer = {
        status: result.done ? 200 : 0,
        headers: new Headers(),
        text: result.text + result.errors,
        json: undefined,
        ms: 0,
        hung: !result.done,
      };
      return [seen("studyAnalysisUpdates(their study)", answer, result.text === "" && /NOT_FOUND/.test(result.errors))];
    },
  },
  {
    name: "mutations a role does not allow",
    family: "tenancy",
    async run({ gql, world }) {
      const a = world.a;
      const out: Observation[] = [];
      const t = async (what: string, field: string, doc: string, vars: Record<string, unknown>, auth: Record<string, string>) => {
        const r = await gql(doc, vars, auth);
        out.push(seen(what, r, forbidden(r, field)));
      };
      const self = world.seedA.users.find((u) => u.role === "RADIOLOGIST")!.id;
      await t(
        "AUDITOR createPatient",
        "createPatient",
        `mutation { createPatient(input: { externalId: "AUD-1" }) { patient { id } errors { code } } }`,
        {},
        a.AUDITOR,
      );
      await t(
        "AUDITOR createStudy",
        "createStudy",
        `mutation($p: ID!) { createStudy(input: { patientId: $p }) { study { id } errors { code } } }`,
        { p: world.victim.patientId },
        a.AUDITOR,
      );
      await t(
        "CLINICIAN revokeSessions",
        "revokeSessions",
        `mutation($u: ID!) { revokeSessions(userId: $u) { revoked errors { code } } }`,
        { u: self },
        a.CLINICIAN,
      );
      await t(
        "API key (CLINICIAN) reviewReport",
        "reviewReport",
        `mutation($a: ID!) { reviewReport(input: { analysisId: $a, action: ACCEPT }) { review { id } errors { code } } }`,
        { a: world.victim.analysisId },
        world.apiKeyA,
      );
      await t("CLINICIAN auditEvents", "auditEvents", `{ auditEvents(first: 5) { edges { node { id } } } }`, {}, a.CLINICIAN);
      return out;
    },
  },
  {
    name: "tenant ADMIN activates or retires the platform's model",
    family: "tenancy",
    async run({ gql, world }) {
      const id = world.modelId;
      const before = await gql(`{ models { id status } }`, {}, world.a.ADMIN);
      const act = await gql(`mutation($id: ID!) { activateModel(id: $id) { model { status } errors { code } } }`, { id }, world.a.ADMIN);
      const ret = await gql(`mutation($id: ID!) { retireModel(id: $id) { model { status } errors { code } } }`, { id }, world.a.ADMIN);
      const after = await gql(`{ models { id status } }`, {}, world.a.ADMIN);
      const unchanged = JSON.stringify(before.json?.data) === JSON.stringify(after.json?.data);
      return [
        seen("activateModel as ADMIN", act, forbidden(act, "activateModel")),
        seen("retireModel as ADMIN", ret, forbidden(ret, "retireModel")),
        seen("models unchanged", { ...after, text: "" }, unchanged),
      ];
    },
  },
];
