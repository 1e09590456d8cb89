// Prisma 6.19 CLI configuration, set up to work offline (no native engines are downloadable here):
// - engine "js" + experimental adapter: `migrate deploy/status/diff` use the bundled Wasm schema engine
//   through @prisma/adapter-pg instead of downloading a native schema engine;
// - prisma/orm#27403: the Wasm engine cannot deserialize PostgreSQL columns of type `name` (OID 19),
//   which catalog queries return, so pg is told to report OID 19 as text (OID 25).
// DATABASE_URL must be set even for offline `migrate diff` because this file is loaded for every command;
// a placeholder is used when it is missing so that `prisma generate` and `migrate diff` still run.
import { defineConfig } from "prisma/config";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";

const PG_NAME_OID = 19;
const PG_TEXT_OID = 25;

type FieldDescription = { dataTypeID: number };
const resultProto = (pg as unknown as { Result: { prototype: { addFields(fields: FieldDescription[]): void } } }).Result.prototype;
const originalAddFields = resultProto.addFields;
if (!(originalAddFields as { __nameAsText?: boolean }).__nameAsText) {
  const patched = function (this: unknown, fields: FieldDescription[]) {
    for (const field of fields) if (field.dataTypeID === PG_NAME_OID) field.dataTypeID = PG_TEXT_OID;
    return originalAddFields.call(this, fields);
  };
  (patched as { __nameAsText?: boolean }).__nameAsText = true;
  resultProto.addFields = patched;
}

// The schema's env("DATABASE_URL") must resolve for `prisma generate` too, or the CLI silently falls back to
// the native query engine and tries to download it; the placeholder is never connected to by generate/diff.
process.env.DATABASE_URL ??= "postgresql://postgres:postgres@127.0.0.1:54329/postgres";
const connectionString = process.env.DATABASE_URL;

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  experimental: { adapter: true },
  engine: "js",
  adapter: async () => new PrismaPg({ connectionString }),
});
