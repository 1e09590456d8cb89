// How an attack's outcome is decided. Each answer the attacker got is judged on its own (hung, leaked,
// unexpected, absorbed, refused); the attack takes the worst verdict of its answers, and "crashed" overrides
// everything when a platform process exited or stopped answering /healthz during or right after it.
import type { Answer } from "./http.ts";

export type Verdict = "refused" | "absorbed" | "unexpected" | "leaked" | "hung";
export type Outcome = Verdict | "crashed";

/** worst first: the order in which an attack's answers decide its outcome */
const SEVERITY: Outcome[] = ["crashed", "hung", "leaked", "unexpected", "absorbed", "refused"];

export interface Observation {
  /** what was sent, for the report */
  what: string;
  answer: Answer;
  /** the platform turned it away as it should (status and code as expected, nothing done) */
  refused: boolean;
  /** not refused, but served harmlessly (a flood the current code answers): allowed where the attack says so */
  absorbed?: boolean;
}

/**
 * Things that must never reach an attacker: the other tenant's data (its marker strings), schema details
 * (suggestions, introspection results), stack traces, file paths and internal error text.
 */
const LEAK_PATTERNS: [RegExp, string][] = [
  [/Did you mean/i, "field or enum suggestion"],
  [/"__schema"\s*:\s*\{|"__type"\s*:\s*\{/, "introspection result"],
  [/\n\s+at [^\n]+:\d+:\d+|\bat [\w.$<>]+ \([^)]*:\d+:\d+\)/, "stack trace"],
  [/node_modules\/|\/work\/|\.tsx?:\d+/, "server file path"],
  [
    /prisma|SQLSTATE|duplicate key|violates [a-z ]+constraint|relation "|syntax error at or near|invalid input syntax/i,
    "database error text",
  ],
  [/kafkajs|ECONNREFUSED|ETIMEDOUT|EPIPE/, "internal connection error"],
  [/TypeError|ReferenceError|RangeError|Cannot read propert/, "JavaScript error text"],
  [/passwordHash|scrypt\$|AUTH_TOKEN_SECRET|keyHash/i, "credential material"],
];

/** reasons the text leaks, empty when it does not; `secrets` are strings only the victim tenant may see */
export function findLeaks(text: string, secrets: readonly string[]): string[] {
  const reasons: string[] = [];
  for (const s of secrets) if (s.length >= 6 && text.includes(s)) reasons.push(`another tenant's data (${s.slice(0, 4)}…)`);
  for (const [re, why] of LEAK_PATTERNS) if (re.test(text)) reasons.push(why);
  return reasons;
}

/** Turned away by the per-caller rate limits or the global budget: a refusal whatever the attack expected. */
export function rateLimitedAnswer(a: Answer): boolean {
  return (a.status === 429 || a.status === 503) && /"code":"(RATE_LIMITED|OVERLOADED)"/.test(a.text);
}

export function judge(o: Observation, secrets: readonly string[]): { verdict: Verdict; reason?: string } {
  if (o.answer.hung) return { verdict: "hung", reason: `${o.what}: no answer within the deadline` };
  const leaks = findLeaks(o.answer.text, secrets);
  if (leaks.length) return { verdict: "leaked", reason: `${o.what}: ${leaks.join(", ")}` };
  if (o.refused || rateLimitedAnswer(o.answer)) return { verdict: "refused" };
  if (o.absorbed) return { verdict: "absorbed" };
  const got = o.answer.failed ? `connection failed (${o.answer.failed})` : `${o.answer.status} ${o.answer.text.slice(0, 160)}`;
  return { verdict: "unexpected", reason: `${o.what}: ${got}` };
}

export function worst(outcomes: readonly Outcome[]): Outcome {
  if (outcomes.length === 0) return "unexpected";
  return SEVERITY.find((s) => outcomes.includes(s))!;
}

/** accumulates the verdicts of one attack's answers (a repeated attack yields thousands; only counts and a few reasons are kept) */
export function createTally(secrets: readonly string[]) {
  const counts: Record<Verdict, number> = { refused: 0, absorbed: 0, unexpected: 0, leaked: 0, hung: 0 };
  const reasons: string[] = [];
  return {
    counts,
    reasons,
    add(observations: readonly Observation[]) {
      for (const o of observations) {
        const { verdict, reason } = judge(o, secrets);
        counts[verdict]++;
        if (reason && reasons.length < 3 && !reasons.includes(reason)) reasons.push(reason);
      }
    },
    outcome(crashed: boolean): Outcome {
      if (crashed) return "crashed";
      return worst((Object.keys(counts) as Verdict[]).filter((v) => counts[v] > 0));
    },
  };
}
