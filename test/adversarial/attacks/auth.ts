// Credentials: guessing passwords (throttle and lockout), telling known from unknown accounts, forged, tampered,
// expired and revoked tokens, made-up API keys.
import { createHmac } from "node:crypto";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import type { Observation } from "../classify.ts";
import type { Answer } from "../http.ts";
import { seen, type Attack } from "./types.ts";

const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token retryAfterSeconds errors { code message } } }`;
const VIEWER = `{ viewer { id } }`;
const loginOf = (a: Answer) =>
  a.json?.data?.login as
    | { token: string | null; retryAfterSeconds: number | null; errors: { code: string; message: string }[] }
    | undefined;
const unauthenticated = (a: Answer) => a.status === 401 && a.json?.errors?.[0]?.extensions?.code === "UNAUTHENTICATED" && !a.json?.data;

/** a v2 token signed with `secret`, as services/gateway/src/auth/tokens.ts makes them */
function mint(claims: Record<string, unknown>, secret: string): string {
  const data = `v2.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  return `${data}.${createHmac("sha256", secret).update(data).digest("base64url")}`;
}

export const authAttacks: Attack[] = [
  {
    name: "login burst: 30 wrong passwords, one account",
    family: "auth",
    async run({ gql, world }) {
      const email = world.seedA.users.find((u) => u.role === "AUDITOR")!.email;
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => gql(LOGIN, { e: email, p: `guess-${i}` })));
      const codes = answers.map((a) => loginOf(a)?.errors?.[0]?.code);
      const checked = codes.filter((c) => c === "VALIDATION").length;
      // at most the account's 5 failures reach the password check; every other answer is RATE_LIMITED with a wait
      return answers.map((a, i) => {
        const l = loginOf(a);
        const ok = !l?.token && (codes[i] === "VALIDATION" || (codes[i] === "RATE_LIMITED" && (l?.retryAfterSeconds ?? 0) > 0));
        return seen(`wrong password #${i}`, a, ok && checked <= 5 && codes.includes("RATE_LIMITED"));
      });
    },
  },
  {
    name: "login: known vs unknown account answers alike",
    family: "auth",
    async run({ gql, world }) {
      const known = world.seedB.users.find((u) => u.role === "AUDITOR")!.email;
      const tries = [known, "nobody-1@adv.test", known, "nobody-2@adv.test", known, "nobody-3@adv.test"];
      const answers: Answer[] = [];
      for (const [i, e] of tries.entries()) answers.push(await gql(LOGIN, { e, p: `wrong-${i}` }));
      const shape = (a: Answer) => JSON.stringify(loginOf(a)?.errors ?? null);
      const same = answers.every((a) => shape(a) === shape(answers[0]!)) && answers.every((a) => !loginOf(a)?.token);
      return answers.map((a, i) => seen(`${i % 2 ? "unknown" : "known"} account`, a, same));
    },
  },
  {
    name: "forged, tampered and expired bearer tokens, made-up API keys",
    family: "auth",
    repeat: 2,
    async run({ gql, world, tokenSecret }) {
      const real = world.a.ADMIN.authorization!.slice("Bearer ".length);
      const [v, payload, sig] = real.split(".") as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
      const now = Math.floor(Date.now() / 1000);
      const forged: Record<string, string> = {
        garbage: "Bearer not-a-token",
        "alg none style": `Bearer ${v}.${Buffer.from(JSON.stringify({ ...claims, tid: world.seedB.tenantId })).toString("base64url")}.`,
        "tenant swapped, old signature": `Bearer ${v}.${Buffer.from(JSON.stringify({ ...claims, tid: world.seedB.tenantId })).toString("base64url")}.${sig}`,
        "signature flipped": `Bearer ${v}.${payload}.${sig.slice(0, -2)}${sig.endsWith("AA") ? "BB" : "AA"}`,
        "wrong secret": `Bearer ${mint({ ...claims, exp: now + 3600 }, "x".repeat(64))}`,
        expired: `Bearer ${mint({ ...claims, iat: now - 7200, exp: now - 60 }, tokenSecret)}`,
        "unknown session": `Bearer ${mint({ ...claims, sid: "00000000-0000-0000-0000-000000000000", exp: now + 3600 }, tokenSecret)}`,
        "v1 token": `Bearer v1.${payload}.${sig}`,
      };
      const out: Observation[] = [];
      for (const [what, authorization] of Object.entries(forged)) out.push(seen(what, await gql(VIEWER, {}, { authorization }), false));
      out.push(seen("made-up API key", await gql(VIEWER, {}, { "x-api-key": "gk_made_up_0123456789abcdefghijklmn" }), false));
      out.push(
        seen(
          "victim's API key with one character changed",
          await gql(VIEWER, {}, { "x-api-key": `${world.seedB.apiKey.slice(0, -1)}x` }),
          false,
        ),
      );
      return out.map((o) => ({ ...o, refused: unauthenticated(o.answer) }));
    },
  },
  {
    name: "a token used after logout (HTTP and WebSocket)",
    family: "auth",
    async run({ gql, world, baseUrl, cfg }) {
      const bearer = { authorization: `Bearer ${world.spareToken}` };
      const before = await gql(VIEWER, {}, bearer);
      if (before.status !== 200) return [seen("token before logout", before, false)];
      const out = await gql(`mutation { logout { revoked errors { code } } }`, {}, bearer);
      const after = await gql(VIEWER, {}, bearer);
      const socket = await new Promise<{ code: number; text: string }>((resolve) => {
        const client = createClient({
          url: `${baseUrl.replace("http", "ws")}/graphql`,
          webSocketImpl: WebSocket,
          connectionParams: bearer,
          retryAttempts: 0,
          lazy: false,
        });
        const timer = setTimeout(() => resolve({ code: 0, text: "still open" }), cfg.deadlineMs);
        let text = "";
        client.subscribe(
          { query: `subscription { tenantAnalysisUpdates { status } }` },
          { next: (v) => (text += JSON.stringify(v)), error: () => undefined, complete: () => undefined },
        );
        client.on("closed", (e) => {
          clearTimeout(timer);
          void client.dispose();
          resolve({ code: (e as { code: number }).code, text });
        });
      });
      const wsAnswer: Answer = {
        status: socket.code,
        headers: new Headers(),
        text: socket.text,
        json: undefined,
        ms: 0,
        hung: socket.code === 0,
      };
      return [
        seen("logout", out, out.json?.data?.logout?.revoked === true),
        seen("HTTP after logout", after, unauthenticated(after)),
        seen("new WebSocket after logout", wsAnswer, socket.code === 4403 && socket.text === ""),
      ];
    },
  },
];
