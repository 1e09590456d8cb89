// Per-process configuration from an environment object, validated with zod.
// Only each process's entry point passes `process.env` here; nothing else reads the environment.
// Every problem is reported at once (a ConfigError listing all issues), so a bad deployment is fixed in one go.
import { z } from "zod";
import { ConfigError } from "../errors/index.ts";

export type Env = Record<string, string | undefined>;

/** Parse `env` with a zod object schema whose keys are the environment variable names. */
export function loadConfig<S extends z.ZodType>(scope: string, schema: S, env: Env): z.infer<S> {
  // empty strings mean "unset", as in most shells' `FOO= cmd`
  const cleaned: Env = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== "") cleaned[key] = value;
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const key = issue.path.length > 0 ? issue.path.join(".") : "(config)";
    return `${key}: ${issue.message}`;
  });
  throw new ConfigError(scope, issues);
}

// Small reusable field helpers (environment values are strings).
export const env = {
  string: () => z.string().min(1),
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  int: (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback),
  number: (fallback: number) => z.coerce.number().default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(["true", "false", "1", "0", "yes", "no"])
      .default(fallback ? "true" : "false")
      .transform((value) => value === "true" || value === "1" || value === "yes"),
  /** comma-separated list, e.g. KAFKA_BROKERS=host1:9092,host2:9092 */
  list: () =>
    z
      .string()
      .transform((value) =>
        value
          .split(",")
          .map((item) => item.trim())
          .filter((item) => item.length > 0),
      )
      .pipe(z.array(z.string().min(1)).min(1)),
  postgresUrl: () => z.string().regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL"),
  enumOf: <T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) => z.enum(values).default(fallback),
};

export { z };
