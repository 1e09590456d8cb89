// The admin console in headless Chromium against the real stack (gateway + PostgreSQL + Kafka +
// analysis worker): sign in, upload a DICOM, watch results arrive live, overlays, sentence→region
// highlighting, VQA, review + audit, a rejected upload, and role limits. Screenshots of every view
// go to docs/screenshots/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildConsole } from "../../services/console/build.ts";
import {
  afterPaint,
  canvasColours,
  expectingErrors,
  gqlInPage,
  launchConsoleBrowser,
  signIn,
  signOut,
  unlabelledControls,
  type ConsoleBrowser,
} from "./browser.ts";
import { startConsoleStack } from "./stack.ts";
import { checkAbstainView, checkServedReliability } from "./reliability-checks.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const shots = join(root, "docs", "screenshots");
const DICOM = "/work/shared/data/dicom_cxr/siim_cr_chest_pa_mono2.dcm";
const RESULTS_TIMEOUT = 240_000;

// One top-level test holds the stack; the subtests run in order against it (later ones use the
// study uploaded earlier). Clean-up registered by startConsoleStack runs after all of them.
test("admin console in a real browser against the real stack", { timeout: 900_000 }, async (t) => {
  await buildConsole();
  await mkdir(shots, { recursive: true });
  const stack = await startConsoleStack(t);
  const browser: ConsoleBrowser = await launchConsoleBrowser();
  t.after(() => browser.close());
  let studyHash = "";
  const mrn = `CONSOLE-${Date.now().toString(36).toUpperCase()}`;

  const shot = (name: string) => browser.page.screenshot({ path: join(shots, `${name}.png`) });

  await t.test("an admin signs in and sees every view in the navigation", async () => {
    const { page } = browser;
    await page.goto(`${stack.baseUrl}/console/`);
    await page.getByRole("heading", { name: /Sign in/ }).waitFor();
    await shot("login");
    await signIn(page, stack.baseUrl, stack.users.admin.email, stack.users.admin.password);
    const nav = page.getByRole("navigation", { name: "Main" });
    assert.deepEqual(await nav.getByRole("link").allTextContents(), ["Dashboard", "Studies", "Upload", "Models", "Audit log", "PACS in"]);
    await page.getByRole("heading", { name: "Dashboard", level: 1 }).waitFor();
    await page.locator('[data-stat="Throughput"]').waitFor();
    await page.locator(".live-live").waitFor({ timeout: 15_000 });
  });

  await t.test("an admin maps a calling AE title on the PACS in page, which lists it beside the ingest log, and removes it", async () => {
    const { page } = browser;
    await page.getByRole("link", { name: "PACS in" }).click();
    await page.getByRole("heading", { name: "PACS in", level: 1 }).waitFor();
    await page.getByText("No AE title is mapped yet.").waitFor();
    assert.deepEqual(await unlabelledControls(page), []);
    await page.getByLabel("Calling AE title").fill("CONSOLE_CR");
    await page.getByLabel("vqa").setChecked(false);
    await page.getByRole("button", { name: "Save" }).click();
    const row = page.getByRole("row").filter({ hasText: "CONSOLE_CR" });
    await row.waitFor();
    assert.match(await row.innerText(), /CLASSIFICATION, LOCALIZATION, REPORT/);
    await page.getByText("Nothing received from the PACS yet.").waitFor();
    // and removes it again
    await page.getByRole("button", { name: "Remove CONSOLE_CR" }).click();
    await page.getByText("CONSOLE_CR no longer sends to this tenant.").waitFor();
    await page.getByText("No AE title is mapped yet.").waitFor();
  });

  await t.test("a wrong password is refused with a plain message", async () => {
    const b = await launchConsoleBrowser();
    try {
      await b.page.goto(`${stack.baseUrl}/console/`);
      await b.page.getByLabel("Email").fill(stack.users.admin.email);
      await b.page.getByLabel("Password").fill("not-the-password");
      await b.page.getByRole("button", { name: "Sign in" }).click();
      const alert = b.page.locator(".login-form [role=alert]");
      await alert.filter({ hasText: /\S/ }).waitFor();
      assert.match(await alert.innerText(), /password|credentials|invalid/i);
    } finally {
      await b.close();
    }
  });

  await t.test("uploading a DICOM creates a study whose four results arrive without reloading the page", async () => {
    const { page } = browser;
    await page.getByRole("link", { name: "Upload" }).click();
    await page.getByRole("heading", { name: "Upload a study" }).waitFor();
    assert.deepEqual(await unlabelledControls(page), []);
    await shot("upload");
    await page.getByTestId("file-input").setInputFiles(DICOM);
    await page.getByLabel("Patient MRN (required)").fill(mrn);
    await page.getByLabel("Accession number").fill(`${mrn}-A1`);
    await page.getByRole("button", { name: "Upload and analyse" }).click();
    await page.waitForURL(/#\/study\//, { timeout: 60_000 });
    studyHash = new URL(page.url()).hash;
    // where the study came from (DICOM-in studies say "From PACS (AE title)")
    await page.getByTestId("study-source").filter({ hasText: "Uploaded" }).waitFor();
    // A marker on window survives only as long as the document does: a reload would erase it.
    await page.evaluate(() => {
      (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
    });
    const chips = page.locator(".task-chip");
    await chips.first().waitFor();
    const firstSeen = await chips.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.status));
    for (const task of ["CLASSIFICATION", "LOCALIZATION", "REPORT", "VQA"]) {
      await page.locator(`.task-chip[data-task=${task}][data-status=SUCCEEDED]`).waitFor({ timeout: RESULTS_TIMEOUT });
    }
    assert.equal(
      await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument),
      true,
      "the page was reloaded",
    );
    assert.ok(
      firstSeen.some((s) => s !== "SUCCEEDED"),
      `results were already complete when the page opened (${firstSeen.join(",")}), so nothing arrived live`,
    );
    await page.locator(".findings-table tbody tr").first().waitFor();
    await page.locator(".sentence").first().waitFor();
    await page.locator("[data-testid=viewer-canvas][data-image]").waitFor();
    await page.locator("[data-toggle=heatmap]").setChecked(true);
    await afterPaint(page);
    assert.deepEqual(await unlabelledControls(page), [], "every control on the study page has an accessible name");
    // The status comes from the study's own refetch, which can land a moment after the last chip.
    await page
      .getByTestId("study-status")
      .filter({ hasText: /Analysed|Reviewed/i })
      .waitFor({ timeout: 15_000 })
      .catch(() => undefined);
    assert.match(await page.getByTestId("study-status").innerText(), /Analysed|Reviewed/i, "the study status follows the results");
    await shot("study");
  });

  await t.test("the viewer draws heatmaps, regions and finding boxes on the canvas", async () => {
    const { page } = browser;
    const canvas = page.getByTestId("viewer-canvas");
    for (const t of ["boxes", "heatmap", "regions"]) await page.locator(`[data-toggle=${t}]`).setChecked(false);
    await afterPaint(page);
    const plain = await canvasColours(page);
    assert.equal(plain.coloured, 0, "with every overlay off the canvas shows only the grey image");

    await page.locator("[data-toggle=heatmap]").setChecked(true);
    await afterPaint(page);
    assert.notEqual(await canvas.getAttribute("data-heatmap"), "");
    const heat = await canvasColours(page);
    assert.ok(heat.coloured > 1000, `heatmap colours ${heat.coloured} of ${heat.total} pixels`);

    await page.locator("[data-toggle=heatmap]").setChecked(false);
    await page.locator("[data-toggle=regions]").setChecked(true);
    await afterPaint(page);
    assert.ok(
      Number(await canvas.getAttribute("data-regions")) > 0,
      "no anatomical region boxes to draw: LocalizationResult.regions is empty (the worker must store the region head's boxes)",
    );
    assert.ok((await canvasColours(page)).coloured > 0);

    await page.locator("[data-toggle=regions]").setChecked(false);
    await page.locator("[data-toggle=boxes]").setChecked(true);
    await afterPaint(page);
    const boxes = Number(await canvas.getAttribute("data-boxes"));
    const coloured = (await canvasColours(page)).coloured;
    assert.equal(boxes > 0, coloured > 0, `data-boxes=${boxes} but ${coloured} coloured pixels`);
    // only findings the classification calls positive get a box (the head outlines every finding's hottest area)
    const positive = await page
      .locator(".findings-table tr.finding-positive")
      .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.finding));
    const drawn = ((await canvas.getAttribute("data-box-labels")) ?? "").split("|").filter(Boolean);
    assert.ok(
      drawn.every((l) => positive.includes(l)),
      `boxes drawn for ${drawn.join(", ")}; positive: ${positive.join(", ")}`,
    );
  });

  await t.test("zoom, pan and window/level change what the canvas shows", async () => {
    const { page } = browser;
    const canvas = page.getByTestId("viewer-canvas");
    const before = JSON.parse((await canvas.getAttribute("data-transform")) as string) as { scale: number; tx: number };
    await page.getByRole("button", { name: "Zoom in" }).click();
    await afterPaint(page);
    const zoomed = JSON.parse((await canvas.getAttribute("data-transform")) as string) as { scale: number; tx: number };
    assert.ok(zoomed.scale > before.scale * 1.2);
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 60, box.y + box.height / 2, { steps: 4 });
    await page.mouse.up();
    await afterPaint(page);
    const panned = JSON.parse((await canvas.getAttribute("data-transform")) as string) as { tx: number };
    assert.ok(Math.abs(panned.tx - zoomed.tx - 60) < 1, `pan moved the image by ${panned.tx - zoomed.tx}px`);
    await page.getByLabel("Window", { exact: true }).fill("60");
    await afterPaint(page);
    assert.match(await page.locator(".viewer-caption").innerText(), /window 60/);
    await page.getByRole("button", { name: "Reset view" }).click();
    await afterPaint(page);
    assert.match(await page.locator(".viewer-caption").innerText(), /Zoom 100%, window 256 \/ level 128/);
  });

  await t.test("a question gets its answer on the page when the worker finishes", async () => {
    const { page } = browser;
    const before = await page.locator(".qa").count();
    await page.getByLabel("Ask a question about this image", { exact: true }).fill("Is there a pneumothorax in the left lung?");
    await page.getByRole("button", { name: "Ask" }).click();
    await page.locator(".qa").nth(before).waitFor();
    const newest = page.locator(".qa").filter({ hasText: "Is there a pneumothorax in the left lung?" }).first();
    await newest.locator("[data-answer]").waitFor({ timeout: RESULTS_TIMEOUT });
    assert.ok((await newest.locator("[data-answer]").innerText()).trim().length > 0);
    // a presence question: with a bundle that answers these from the findings, the answer names the finding it read
    await page.getByLabel("Ask a question about this image", { exact: true }).fill("Is there cardiomegaly?");
    await page.getByRole("button", { name: "Ask" }).click();
    const presence = page.locator(".qa").filter({ hasText: "Is there cardiomegaly?" }).first();
    await presence.locator("[data-answer]").waitFor({ timeout: RESULTS_TIMEOUT });
    const source = await presence.locator(".qa-a").getAttribute("data-answered-from");
    assert.ok(source === "FINDING" || source === "VQA_HEAD", `answered from ${source}`);
    if (source === "FINDING") assert.match(await presence.getByTestId("answered-from-finding").innerText(), /From the Cardiomegaly result/);
  });

  await t.test("hovering a report sentence highlights its regions on the image", async (st) => {
    const { page } = browser;
    const canvas = page.getByTestId("viewer-canvas");
    for (const t of ["boxes", "heatmap", "regions"]) await page.locator(`[data-toggle=${t}]`).setChecked(false);
    await afterPaint(page);
    assert.equal((await canvasColours(page)).yellow, 0);
    assert.ok(
      Number(await canvas.getAttribute("data-region-boxes")) > 0,
      "no anatomical region boxes to highlight: LocalizationResult.regions is empty (the worker must store the region head's boxes)",
    );
    // The report's sentences link to regions the text names; an untrained test bundle may write none.
    // Then the same highlighting is checked on the VQA answer, whose regions come from the question.
    let target = page.locator('.sentence:not([data-regions=""])').first();
    if ((await target.count()) === 0) {
      const sentences = await page.locator(".sentence").allInnerTexts();
      st.diagnostic(`no report sentence names a region (${JSON.stringify(sentences)}); checking the VQA answer's regions instead`);
      target = page.locator('.qa:not([data-regions=""])').first();
    }
    assert.equal(await target.count(), 1, "neither a report sentence nor a VQA answer is linked to a region");
    const regions = ((await target.getAttribute("data-regions")) as string).split("|");
    await target.hover();
    await afterPaint(page);
    const lit = ((await canvas.getAttribute("data-highlight")) ?? "").split("|").filter(Boolean);
    assert.ok(
      lit.length > 0 && lit.every((r) => regions.includes(r)),
      `highlighted [${lit.join(", ")}] for text about [${regions.join(", ")}]`,
    );
    assert.ok((await canvasColours(page)).yellow > 50, "the highlighted regions are painted");
    await shot("study-sentence-highlight");
    await page.getByRole("heading", { name: "Draft report" }).hover();
    await afterPaint(page);
    assert.equal(await canvas.getAttribute("data-highlight"), "");
    // Keyboard users get the same highlight by focusing the element.
    await target.focus();
    await afterPaint(page);
    assert.notEqual(await canvas.getAttribute("data-highlight"), "");
    await target.blur();
  });

  await t.test("the findings show probability, threshold, grounded regions and knowledge, marked as an AI draft", async () => {
    const { page } = browser;
    const rows = page.locator(".findings-table tbody tr");
    assert.ok((await rows.count()) >= 1);
    const text = await page.locator(".findings-table").innerText();
    assert.match(text, /\d+\.\d%/);
    assert.ok((await page.locator(".ai-banner").count()) >= 3);
    assert.match(await page.locator(".ai-banner").first().innerText(), /AI draft — not for clinical use without review/);
  });

  await t.test(
    "the study says how far the AI results can be trusted: banner, unvalidated findings, uncertain sentences, image-based answers",
    async () => {
      await checkServedReliability(browser.page, decodeURIComponent(studyHash.split("/").pop() as string));
    },
  );

  await t.test('an abstaining analysis shows a "not assessed" banner and no finding as positive', async () => {
    await checkAbstainView(browser.page, () => shot("study-reliability-abstain"));
  });

  await t.test("a radiologist accepts the report and the review shows in the audit log", async () => {
    const { page } = browser;
    await signOut(page);
    await signIn(page, stack.baseUrl, stack.users.radiologist.email, stack.users.radiologist.password);
    await page.goto(`${stack.baseUrl}/console/${studyHash}`);
    await page.getByRole("button", { name: "Accept" }).click();
    await page.getByText(/Report accepted/).waitFor();
    await page.locator(".review-status .badge-accept").waitFor();
    // the sign-off sent the grounded SR to the PACS (the default tenant setting); "Send to PACS" sends another
    const deliveries = page.getByTestId("deliveries");
    const srSent = deliveries.locator('tr[data-kind="SR"][data-status="SENT"]');
    if (stack.pacs) {
      await srSent.first().waitFor({ timeout: 30_000 });
      assert.match(await deliveries.innerText(), /DICOM SR → PACS\s+on sign-off/);
      await page.getByRole("button", { name: "Send to PACS" }).click();
      await page.getByText(/Queued for the PACS/).waitFor();
      await deliveries.locator('tr[data-kind="SR"]').filter({ hasText: "sent by hand" }).and(srSent).waitFor({ timeout: 30_000 });
      assert.equal(await srSent.count(), 2);
      await deliveries.scrollIntoViewIfNeeded();
      await shot("study-deliveries");
    } else {
      await deliveries.locator('tr[data-kind="SR"][data-status="FAILED"]').filter({ hasText: "PACS_NOT_CONFIGURED" }).waitFor();
    }
    await signOut(page);
    await signIn(page, stack.baseUrl, stack.users.admin.email, stack.users.admin.password);
    await page.getByRole("link", { name: "Audit log" }).click();
    await page.getByLabel("Action").fill("report.accept");
    await page.getByRole("button", { name: "Apply" }).click();
    const row = page.locator(".audit-table tbody tr").first();
    await row.waitFor();
    assert.match(await row.innerText(), /report\.accept/);
    assert.deepEqual(await unlabelledControls(page), []);
    await shot("audit");
  });

  await t.test("the studies list finds the new study by MRN, filters by status and pages with Load more", async () => {
    const { page } = browser;
    await page.getByRole("link", { name: "Studies" }).click();
    await page.getByLabel("Search").fill(mrn);
    await page.getByRole("button", { name: "Apply" }).click();
    await page
      .locator(".studies-table tbody tr")
      .filter({ hasText: `${mrn}-A1` })
      .waitFor();
    assert.equal(await page.locator(".studies-table tbody tr").count(), 1);
    // Finding filter: the study's latest classification gives every label some probability ≥ 0, none of 1.
    await page.getByLabel("Finding").selectOption("Cardiomegaly");
    await page.getByLabel("Probability ≥ (0–1)").fill("0");
    await page.getByRole("button", { name: "Apply" }).click();
    await page
      .locator(".studies-table tbody tr")
      .filter({ hasText: `${mrn}-A1` })
      .waitFor();
    await page.getByLabel("Probability ≥ (0–1)").fill("1");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByText("No studies match these filters.").waitFor();
    await page.getByLabel("Finding").selectOption("");
    await page.getByLabel("Status").selectOption("REGISTERED");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByText("No studies match these filters.").waitFor();

    // 21 more studies (one more than a page) through the API, then page through them in the UI.
    const many = `${mrn}-P`;
    const created = await gqlInPage(
      page,
      "mutation($i: CreatePatientInput!) { createPatient(input: $i) { patient { id } errors { message } } }",
      { i: { externalId: many } },
    );
    const patientId = created.body.data.createPatient.patient.id as string;
    for (let i = 0; i < 21; i++) {
      const r = await gqlInPage(page, "mutation($i: CreateStudyInput!) { createStudy(input: $i) { study { id } errors { message } } }", {
        i: { patientId, accessionNumber: `${many}-${i}` },
      });
      assert.ok(r.body.data?.createStudy.study, JSON.stringify(r.body));
    }
    await page.getByRole("button", { name: "Clear" }).click();
    await page.getByLabel("Search").fill(many);
    await page.getByRole("button", { name: "Apply" }).click();
    await page.locator(".studies-table tbody tr").nth(19).waitFor();
    assert.equal(await page.locator(".studies-table tbody tr").count(), 20);
    await page.getByRole("button", { name: "Load more" }).click();
    await page.locator(".studies-table tbody tr").nth(20).waitFor();
    assert.equal(await page.locator(".studies-table tbody tr").count(), 21);
    assert.equal(await page.getByRole("button", { name: "Load more" }).isVisible(), false);
    await page.getByRole("button", { name: "Clear" }).click();
    await page.locator(".studies-table tbody tr").first().waitFor();
    await shot("studies");
  });

  await t.test("the dashboard and models views show live queue numbers, workers and provenance", async () => {
    const { page } = browser;
    await page.getByRole("link", { name: "Dashboard" }).click();
    await page.locator('[data-stat="Workers healthy"]').waitFor();
    await page.locator(".live-live").waitFor();
    // A question asked elsewhere shows up in the live feed through tenantAnalysisUpdates.
    const studyId = decodeURIComponent(studyHash.split("/").pop() as string);
    const asked = await gqlInPage(
      page,
      'mutation($s: ID!) { askQuestion(studyId: $s, question: "Is the heart enlarged?") { analysis { id } errors { message } } }',
      { s: studyId },
    );
    assert.ok(asked.body.data?.askQuestion.analysis, JSON.stringify(asked.body));
    await page.locator(".feed li").filter({ hasText: "Succeeded" }).first().waitFor({ timeout: RESULTS_TIMEOUT });
    assert.match(await page.locator(".feed").innerText(), /VQA/);
    assert.match(await page.locator('[data-stat="Workers healthy"]').innerText(), /^[1-9]\d* \/ /);
    await shot("dashboard");
    await page.getByRole("link", { name: "Models" }).click();
    await page.locator(".model-card").first().waitFor();
    assert.match(await page.locator(".trained-on").first().innerText(), /Trained on:/);
    // the shipped bundle's real-film figures: each with its interval and chance on the same films
    const realRows = page.getByTestId("real-film-metrics").first().locator("tbody tr");
    assert.ok((await realRows.count()) >= 2, "real-film rows for the shipped bundle");
    // pneumonia: the corpus-test figure (one selection of NIH films) first, its other sets after it, among them the
    // held-out set of another selection
    const pneumonia = realRows.filter({ has: page.locator('th:text-is("Pneumonia")') });
    assert.ok((await pneumonia.count()) >= 2, "pneumonia's figure on each set of films");
    assert.match(await pneumonia.first().innerText(), /0\.\d\d\s+0\.\d\d–0\.\d\d\s+0\.\d\d\s+\d+ \/ \d+\s+.*one selection/);
    const heldOut = pneumonia.filter({ hasText: "another selection" });
    assert.equal(await heldOut.count(), 1);
    assert.match(await heldOut.innerText(), /0\.\d\d\s+0\.\d\d–0\.\d\d\s+0\.\d\d\s+\d+ \/ \d+/);
    assert.match(await page.getByTestId("real-film-metrics").first().innerText(), /not above chance/, "weak figures are marked as such");
    // models serve every tenant: a tenant admin reads them, a platform operator changes them (below)
    assert.equal(await page.locator(".model-actions button").count(), 0, "a tenant admin gets no activate/retire controls");
    await page.getByText(/only a platform operator can activate or retire/).waitFor();
  });

  await t.test(
    "the dashboard's live feed resumes after its socket drops: what finished meanwhile arrives, asked for with `after`",
    async () => {
      const { page } = browser;
      // every console socket from now on goes through this route, which the test can drop and hold down
      const subscribes: { variables?: { after?: string | null } }[] = [];
      const sockets: { close(): Promise<void> }[] = [];
      let holdDown = false;
      await page.routeWebSocket(/\/graphql$/, (ws) => {
        if (holdDown) return void ws.close({ code: 1012 }).catch(() => undefined);
        const server = ws.connectToServer();
        ws.onMessage((message) => {
          const frame = JSON.parse(String(message)) as { type: string; payload?: { variables?: { after?: string | null } } };
          if (frame.type === "subscribe") subscribes.push(frame.payload ?? {});
          server.send(message);
        });
        server.onMessage((message) => ws.send(message));
        sockets.push({ close: () => ws.close({ code: 1012 }) });
      });
      await page.reload();
      await page.getByRole("link", { name: "Dashboard" }).click();
      await page.getByRole("heading", { name: "Dashboard", level: 1 }).waitFor();
      await page.locator(".live-live").waitFor();
      const studyId = decodeURIComponent(studyHash.split("/").pop() as string);
      const ask = async (question: string) => {
        const asked = await gqlInPage<{ askQuestion: { analysis: { id: string } | null } }>(
          page,
          "mutation($s: ID!, $q: String!) { askQuestion(studyId: $s, question: $q) { analysis { id } errors { message } } }",
          { s: studyId, q: question },
        );
        const id = asked.body.data?.askQuestion.analysis?.id;
        assert.ok(id, JSON.stringify(asked.body));
        return id;
      };
      const answered = page.locator(".feed li").filter({ hasText: "VQA" }).filter({ hasText: "Succeeded" });
      await ask("Is there a pleural effusion?");
      await answered.first().waitFor({ timeout: RESULTS_TIMEOUT });
      const seenBefore = await answered.count();

      // the socket drops and stays down while another question is answered
      holdDown = true;
      await sockets.at(-1)!.close();
      await page.locator(".live-offline, .live-connecting").first().waitFor();
      const missed = await ask("Is the trachea midline?");
      for (const deadline = Date.now() + RESULTS_TIMEOUT; ; ) {
        const r = await gqlInPage<{ analysis: { status: string } | null }>(page, "query($id: ID!) { analysis(id: $id) { status } }", {
          id: missed,
        });
        if (r.body.data?.analysis?.status === "SUCCEEDED") break;
        assert.ok(Date.now() < deadline, "the question was answered while the console was offline");
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const subscribesBefore = subscribes.length;
      holdDown = false;
      await page.locator(".live-live").waitFor({ timeout: 60_000 });
      // replayed from the transition log: the answer given while the socket was down is in the feed
      await page.waitForFunction(
        (n) =>
          document.querySelectorAll(".feed li").length > 0 &&
          [...document.querySelectorAll(".feed li")].filter(
            (li) => /VQA/.test(li.textContent ?? "") && /Succeeded/.test(li.textContent ?? ""),
          ).length > n,
        seenBefore,
        { timeout: 30_000 },
      );
      const resubscribed = subscribes.slice(subscribesBefore).find((p) => p.variables && "after" in p.variables);
      assert.ok(
        resubscribed?.variables?.after,
        `the feed's subscription was sent again with after: ${JSON.stringify(subscribes.slice(subscribesBefore))}`,
      );
      await page.unrouteAll({ behavior: "ignoreErrors" });
    },
  );

  await t.test("a file dropped on the upload area that is not an image is rejected with the gateway's message", async () => {
    const { page } = browser;
    await page.getByRole("link", { name: "Upload" }).click();
    const dropped = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(["this is a text file, not a PNG\n"], "not-an-xray.png", { type: "image/png" }));
      return dt;
    });
    await page.getByTestId("dropzone").dispatchEvent("dragover", { dataTransfer: dropped });
    await page.getByTestId("dropzone").dispatchEvent("drop", { dataTransfer: dropped });
    await page.getByText("not-an-xray.png (0 KB)").waitFor();
    await page.getByLabel("Patient MRN (required)").fill(`${mrn}-BAD`);
    const alert = page.locator(".upload-progress [role=alert]");
    await expectingErrors(browser, /Failed to load resource: the server responded with a status of 4\d\d/, async () => {
      await page.getByRole("button", { name: "Upload and analyse" }).click();
      await alert.waitFor();
    });
    assert.match(await alert.innerText(), /^Upload file failed: .{10,}/);
    assert.match(page.url(), /#\/upload/);
    await shot("upload-error");
    await page.getByRole("link", { name: "Studies" }).click();
    await page.getByLabel("Search").fill(`${mrn}-BAD`);
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByText(/No studies match/).waitFor();
  });

  await t.test("a clinician cannot reach the admin views, and the gateway refuses their model changes", async () => {
    const { page } = browser;
    await signOut(page);
    await signIn(page, stack.baseUrl, stack.users.clinician.email, stack.users.clinician.password);
    const links = await page.getByRole("navigation", { name: "Main" }).getByRole("link").allTextContents();
    assert.ok(
      !links.includes("Models") && !links.includes("Audit log") && !links.includes("Dashboard"),
      `clinician sees ${links.join(", ")}`,
    );
    await page.goto(`${stack.baseUrl}/console/#/models`);
    await page.getByTestId("no-access").waitFor();
    assert.equal(await page.getByRole("button", { name: /Activate|Retire/ }).count(), 0);
    await shot("clinician-no-access");
    await page.goto(`${stack.baseUrl}/console/${studyHash}`);
    await page.locator(".sentence").first().waitFor();
    assert.equal(await page.getByRole("button", { name: "Accept" }).count(), 0, "clinicians do not review reports");
    await page.getByTestId("deliveries").locator("tr[data-delivery]").first().waitFor();
    assert.equal(await page.getByRole("button", { name: "Send to PACS" }).count(), 0, "clinicians see deliveries but do not send");
    const answer = await expectingErrors(
      browser,
      /status of 403/,
      async () =>
        (
          await gqlInPage<{ retireModel?: { errors: { code: string }[] } }>(
            page,
            'mutation { retireModel(id: "any") { errors { code message } } }',
          )
        ).body,
    );
    const codes = [...(answer.errors ?? []).map((e) => e.extensions?.code), ...(answer.data?.retireModel?.errors ?? []).map((e) => e.code)];
    assert.ok(codes.includes("FORBIDDEN"), `expected FORBIDDEN, got ${JSON.stringify(answer)}`);
  });

  await t.test("a platform operator manages models, sees no patient data, and signing out revokes the token", async () => {
    const { page } = browser;
    await signOut(page);
    await signIn(page, stack.baseUrl, stack.users.operator.email, stack.users.operator.password);
    assert.deepEqual(await page.getByRole("navigation", { name: "Main" }).getByRole("link").allTextContents(), ["Models", "Audit log"]);
    await page.locator(".model-card").first().waitFor();
    assert.ok((await page.locator(".model-actions button").count()) > 0, "an operator gets activate/retire controls");
    await shot("models");
    await page.goto(`${stack.baseUrl}/console/#/studies`);
    await page.getByTestId("no-access").waitFor();
    const token = await page.evaluate(
      () => (JSON.parse(sessionStorage.getItem("gkmvlp.console.session") as string) as { token: string }).token,
    );
    await page.goto(`${stack.baseUrl}/console/#/models`);
    await page.locator(".model-card").first().waitFor();
    await signOut(page);
    const after = await fetch(`${stack.baseUrl}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: "{ viewer { id } }" }),
    });
    assert.equal(after.status, 401, "the console revoked its token at sign-out");
  });

  await t.test("no console errors or page errors happened during the session", () => {
    assert.deepEqual(browser.errors, []);
  });
});
