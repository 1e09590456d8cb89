// The manifest contract as JSON Schema (draft 2020-12), generated from manifestSchema: one source, two forms.
import { z } from "zod";
import { manifestSchema } from "./manifest.ts";

export const MANIFEST_SCHEMA_ID = "https://gkmvlp.invalid/contracts/model-bundle.schema.json";

export function manifestJsonSchema(): Record<string, unknown> {
  // io 'input': what a producer may write (defaults are optional there); refinements are not representable
  const schema = z.toJSONSchema(manifestSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return {
    $id: MANIFEST_SCHEMA_ID,
    title: "GK-MVLP model bundle manifest (manifest.json)",
    description:
      "Generated from workers/analysis/src/bundle/manifest.ts by scripts/manifest-schema.ts; do not edit. " +
      "Cross-field rules (a threshold per label, graphs per task, hashed files) are enforced by the worker only.",
    ...schema,
  };
}

export function manifestJsonSchemaText(): string {
  return `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`;
}
