// graphql-js picks, once, at its first import and from NODE_ENV, between two versions of its type tests
// (isObjectType, isListType, …; every field of every response goes through several). The development version,
// after a failed `instanceof`, also compares class names to report a second copy of graphql loaded from another
// path: on a page of studies that cost ~5 % of the gateway's CPU (issue 13). The gateway loads graphql before
// anything else imports it, in production mode unless GRAPHQL_DEVELOPMENT_CHECKS is set, and NODE_ENV reads as
// before for everything else: Apollo (introspection, stack traces, suggestions and the landing page are explicit in
// apollo.ts), Prisma's error format, kafkajs.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** `env` is the process's environment (main.ts passes process.env): only NODE_ENV, set and restored around the import. */
export function loadGraphql(developmentChecks: boolean, env: NodeJS.ProcessEnv): void {
  // "graphql" has no exports map: ESM imports of it (Apollo, ours) share this CommonJS instance and its cache
  if (require.cache[require.resolve("graphql/jsutils/instanceOf.js")]) {
    throw new Error("graphql was imported before its mode was chosen: services/gateway/src/main.ts must load it first");
  }
  if (developmentChecks) {
    require("graphql");
    return;
  }
  const before = env.NODE_ENV;
  env.NODE_ENV = "production";
  try {
    require("graphql");
  } finally {
    if (before === undefined) delete env.NODE_ENV;
    else env.NODE_ENV = before;
  }
}
