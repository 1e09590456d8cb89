// Configures a platform operator (role OPERATOR: activates and retires models, reads fleet details, no patient
// data) in the database named by DATABASE_URL. Operators are never created through the API or by a tenant.
//   OPERATOR_PASSWORD='…' DATABASE_URL=postgresql://… node --import tsx scripts/operator.ts create <email> [name]
// The password is read from the environment, not the command line (other users of the machine can read argv).
import { createDb, createRepositories, ensureOperator } from "../lib/db/index.ts";

async function main(): Promise<void> {
  const [command, email, ...name] = process.argv.slice(2);
  const url = process.env.DATABASE_URL;
  const password = process.env.OPERATOR_PASSWORD;
  if (command !== "create" || !email || !url || !password || password.length < 12) {
    console.error(
      "usage: OPERATOR_PASSWORD=<12+ characters> DATABASE_URL=<url> node --import tsx scripts/operator.ts create <email> [name]",
    );
    process.exit(2);
  }
  const db = createDb(url, { poolMax: 1 });
  try {
    const user = await ensureOperator(createRepositories(db.prisma), { email, name: name.join(" ") || email, password });
    console.log(JSON.stringify({ operator: user.email, id: user.id, tenantId: user.tenantId }));
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
