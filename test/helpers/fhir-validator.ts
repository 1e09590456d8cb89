// The HL7 FHIR validator (HAPI FhirInstanceValidator over org.hl7.fhir.validation, R4 core definitions, offline),
// installed by scripts/install-fhir-validator.sh (part of scripts/setup.sh) into .local/fhir-validator.
// One JVM per call validates a batch of resources (about 8 s on this machine, mostly loading the definitions),
// so tests collect what they read and validate it once.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const DIR = path.join(ROOT, ".local/fhir-validator");

export interface FhirIssue {
  severity: "fatal" | "error" | "warning" | "information";
  location: string;
  messageId: string;
  message: string;
}

/** Why the validator cannot run here (for `t.skip`), or null when it is installed. */
export function fhirValidatorMissing(): string | null {
  if (existsSync(path.join(DIR, "classes/FhirValidate.class"))) return null;
  return "the HL7 FHIR validator is not installed: run `bash scripts/install-fhir-validator.sh` (or `npm run setup`)";
}

/** Validates each resource; returns its issues, in order. */
export function validateFhir(resources: readonly unknown[], timeoutMs = 120_000): Promise<FhirIssue[][]> {
  return new Promise((resolve, reject) => {
    const child = spawn("java", ["-Xmx768m", "-cp", `${path.join(DIR, "classes")}:${path.join(DIR, "libs")}/*`, "FhirValidate"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`FhirValidate exited ${code}: ${Buffer.concat(err).toString("utf8").slice(-2000)}`));
      const rows = Buffer.concat(out)
        .toString("utf8")
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as { index: number; issues: FhirIssue[] });
      if (rows.length !== resources.length) return reject(new Error(`FhirValidate answered ${rows.length} of ${resources.length}`));
      resolve(rows.sort((a, b) => a.index - b.index).map((row) => row.issues));
    });
    child.stdin.end(`${resources.map((r) => JSON.stringify(r)).join("\n")}\n`);
  });
}

/** The errors (severity error or fatal) of each resource, labelled, for one assertion over a batch. */
export function validationErrors(resources: readonly unknown[], issues: readonly FhirIssue[][]): string[] {
  return issues.flatMap((list, i) => {
    const r = resources[i] as { resourceType?: string; id?: string };
    return list
      .filter((issue) => issue.severity === "error" || issue.severity === "fatal")
      .map((issue) => `${r.resourceType}/${r.id ?? "?"} ${issue.location}: ${issue.message}`);
  });
}
