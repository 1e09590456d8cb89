// Pages and counts of studies are named statements on the direct SQL channel (lib/db/sql.ts), one per filter
// shape, not Prisma queries (whose per-query compilation was a share of the gateway's CPU per page, issue 13).
// What they list must be what the ORM lists: same rows, order, types (UTC Dates), cursor and filters.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createTestContext, reposWithSqlSpy, seedStudy } from "../helpers/index.ts";

test("studies pages and counts go through named statements and list what the ORM lists", async (t) => {
  const ctx = await createTestContext(t);
  const s = await seedStudy(ctx.repos, "listsql");
  const patient2 = await ctx.repos.patients.create({ tenantId: s.tenantId, mrn: "Q_1%x" });
  for (let i = 0; i < 4; i++) {
    await ctx.repos.studies.create({ tenantId: s.tenantId, patientId: i % 2 ? s.patientId : patient2.id, accession: `L${i}` });
  }
  await seedStudy(ctx.repos, "listsql-other"); // another tenant's study is never listed

  const { repos, names } = reposWithSqlSpy(ctx);
  const columns = {
    id: true,
    tenantId: true,
    patientId: true,
    accession: true,
    modality: true,
    studyDate: true,
    status: true,
    description: true,
    studyInstanceUid: true,
    createdAt: true,
  } as const;
  const orm = (where: object, take: number) =>
    ctx.db.prisma.study.findMany({
      where: { tenantId: s.tenantId, ...where },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take,
      select: columns,
    });

  const all = await repos.listings.studies(s.tenantId, {}, 10, null);
  assert.deepEqual(all, await orm({}, 11));
  assert.equal(all.length, 5);
  assert.ok(all[0]!.createdAt instanceof Date);
  assert.equal(await repos.listings.countStudies(s.tenantId, {}), 5);

  const after = { at: all[1]!.createdAt, id: all[1]!.id };
  assert.deepEqual(await repos.listings.studies(s.tenantId, {}, 2, after), all.slice(2, 5), "after the cursor");
  assert.deepEqual(
    await repos.listings.studies(s.tenantId, { patientId: s.patientId, status: "REGISTERED" }, 10, null),
    await orm({ patientId: s.patientId, status: "REGISTERED" }, 11),
  );
  assert.equal(await repos.listings.countStudies(s.tenantId, { patientId: patient2.id }), 2);
  // search is a literal prefix of the accession or the patient's MRN (LIKE wildcards escaped)
  assert.deepEqual((await repos.listings.studies(s.tenantId, { search: "Q_1%" }, 10, null)).map((r) => r.accession).sort(), ["L0", "L2"]);
  assert.equal(await repos.listings.countStudies(s.tenantId, { search: "Q_1_" }), 0);
  assert.deepEqual(await repos.listings.studies(s.tenantId, { finding: { label: "Edema", minProbability: 0.5 } }, 10, null), []);

  assert.ok(names.length === 8 && names.every((n) => /^studies_(page|count):/.test(n)), names.join(", "));
  assert.ok(names.includes("studies_page:all") && names.includes("studies_page:patient+status") && names.includes("studies_page:after"));
});
