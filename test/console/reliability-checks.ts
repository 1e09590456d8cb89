// The study page's reliability presentation, checked in the browser test (console.test.ts) on the study
// it uploaded: what the real worker reported (a version-1 bundle: CAUTION, nothing validated on real films),
// and an ABSTAIN, rendered from the same study with its reliability rewritten on the way to the page
// (the real worker abstains only with a version-2 bundle: test/e2e/reliability.test.ts covers that).
import assert from "node:assert/strict";
import type { Page, Route } from "playwright-core";
import { afterPaint, gqlInPage } from "./browser.ts";

/** The reliability the gateway reports for the study on this page (its newest classification). */
async function served(page: Page, studyId: string): Promise<{ level: string; reasons: { code: string; message: string }[] } | null> {
  const r = await gqlInPage(page, "query($s: ID!) { study(id: $s) { latestReliability { level reasons { code message } } } }", {
    s: studyId,
  });
  return r.body.data?.study?.latestReliability ?? null;
}

export async function checkServedReliability(page: Page, studyId: string): Promise<void> {
  const reliability = await served(page, studyId);
  assert.ok(reliability, "the classification carries a reliability assessment");
  const banner = page.getByTestId("reliability-banner");
  if (reliability.level === "OK") {
    assert.equal(await banner.isVisible(), false, "no banner for an OK image");
  } else {
    await banner.waitFor();
    assert.equal(await banner.getAttribute("data-level"), reliability.level);
    const text = await banner.innerText();
    for (const r of reliability.reasons) assert.ok(text.includes(r.message), `the banner says "${r.message}"`);
    assert.equal(await banner.locator("[data-reason]").count(), reliability.reasons.length);
  }
  // every finding says whether it was validated on real films; an unvalidated positive is never a bare "Positive"
  const rows = page.locator(".findings-table tbody tr");
  const validated = await rows.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.validated));
  assert.ok(validated.length > 0 && validated.every((v) => v === "true" || v === "false"));
  for (const row of await page.locator(".findings-table tbody tr.finding-positive[data-validated=false]").all()) {
    assert.match(await row.locator(".badge-positive").innerText(), /not validated on real films/);
  }
  if (validated.includes("false"))
    await page
      .getByText(/not validated on real films/)
      .first()
      .waitFor();
  // uncertain report sentences are marked and say why; answers say whether they came from the image
  const sentences = page.locator(".sentence");
  assert.ok((await sentences.count()) > 0);
  for (const s of await page.locator(".sentence[data-uncertain=true]").all()) {
    assert.match((await s.getAttribute("title")) ?? "", /^Uncertain: .{10,}/);
    assert.equal(await s.locator(".uncertain-mark").count(), 1);
  }
  const answers = await page.locator(".qa-a[data-image-based]").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.imageBased));
  assert.ok(answers.length > 0 && answers.every((v) => v === "true" || v === "false"));
  assert.equal(await page.getByTestId("not-image-based").count(), answers.filter((v) => v === "false").length);
  // answers read from a finding say which one
  const sources = await page
    .locator(".qa-a[data-answered-from]")
    .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.answeredFrom));
  assert.ok(
    sources.every((v) => v === "VQA_HEAD" || v === "FINDING"),
    JSON.stringify(sources),
  );
  assert.equal(await page.getByTestId("answered-from-finding").count(), sources.filter((v) => v === "FINDING").length);
}

const ABSTAIN = {
  level: "ABSTAIN",
  score: 0.03,
  frontalProbability: 0.03,
  oodDistance: 4.2,
  reasons: [{ code: "NOT_FRONTAL_CXR", message: "The image is not read as a frontal chest radiograph (probability 0.03, below 0.50)." }],
};

/** Reloads the study page with every analysis' reliability rewritten to ABSTAIN, checks it, and restores the route. */
export async function checkAbstainView(page: Page, shot: () => Promise<unknown>): Promise<void> {
  const rewrite = async (route: Route) => {
    const body = route.request().postDataJSON() as { query?: string } | null;
    if (!body?.query?.includes("query Study(")) return route.fallback();
    const response = await route.fetch();
    const json = (await response.json()) as any;
    for (const a of json.data?.study?.analyses ?? []) if (a.status === "SUCCEEDED") a.reliability = ABSTAIN;
    await route.fulfill({ response, json });
  };
  await page.route("**/graphql", rewrite);
  try {
    await page.reload();
    const banner = page.getByTestId("reliability-banner");
    await banner.locator("[data-reason=NOT_FRONTAL_CXR]").waitFor();
    assert.equal(await banner.getAttribute("data-level"), "ABSTAIN");
    assert.equal(await banner.getAttribute("role"), "alert", "an abstention interrupts screen readers");
    assert.match(await banner.innerText(), /Not assessed/);
    await page.locator(".findings-table tbody tr").first().waitFor();
    assert.equal(await page.locator(".findings-table tr.finding-positive").count(), 0, "nothing is shown as positive");
    assert.equal(await page.locator(".findings-table .badge-positive").count(), 0);
    const rows = await page.locator(".findings-table tbody tr").count();
    assert.equal(await page.locator(".findings-table tbody tr[data-assessed=false]").count(), rows);
    assert.equal(await page.getByText("Not assessed: input not readable").count(), rows);
    assert.doesNotMatch(await page.locator(".findings-table tbody").innerText(), /\d+\.\d%/, "no probability is shown as a finding");
    await page.locator("[data-toggle=boxes]").setChecked(true);
    await afterPaint(page);
    assert.equal(await page.getByTestId("viewer-canvas").getAttribute("data-boxes"), "0", "no finding box is drawn");
    await shot();
  } finally {
    await page.unroute("**/graphql", rewrite);
    await page.reload();
    await page.locator(".findings-table tbody tr").first().waitFor();
  }
}
