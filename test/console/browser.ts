// Headless Debian Chromium for the console tests: a fresh profile per launch, every console error
/* eslint-disable @typescript-eslint/no-explicit-any -- GraphQL payloads in tests */
// and page error collected (the console must run without any), and small helpers for the views.
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export interface ConsoleBrowser {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors seen so far, with the URL they happened on. */
  errors: string[];
  close(): Promise<void>;
}

export async function launchConsoleBrowser(): Promise<ConsoleBrowser> {
  const profile = await mkdtemp(join(tmpdir(), "console-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  const errors: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(`console error on ${page.url()}: ${msg.text()}`);
  });
  page.on("pageerror", (err) => errors.push(`page error on ${page.url()}: ${err.message}`));
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export async function signIn(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/console/`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("header.topbar").waitFor();
}

export async function signOut(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("button", { name: "Sign in" }).waitFor();
}

/** Counts canvas pixels by colour class: grey (image), coloured (overlays), yellow (highlight). */
export async function canvasColours(page: Page): Promise<{ coloured: number; yellow: number; total: number }> {
  return page.locator("[data-testid=viewer-canvas]").evaluate((el) => {
    const c = el as HTMLCanvasElement;
    const data = (c.getContext("2d") as CanvasRenderingContext2D).getImageData(0, 0, c.width, c.height).data;
    let coloured = 0;
    let yellow = 0;
    for (let i = 0; i < data.length; i += 4) {
      const r = data[i] as number,
        g = data[i + 1] as number,
        b = data[i + 2] as number;
      if (Math.max(r, g, b) - Math.min(r, g, b) > 40) coloured++;
      if (r > 200 && g > 170 && b < 90 && r - b > 120) yellow++;
    }
    return { coloured, yellow, total: data.length / 4 };
  });
}

/** Waits for the next animation frames so a requested canvas redraw has happened. */
export async function afterPaint(page: Page): Promise<void> {
  await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
}

/**
 * Runs `fn`, then removes from `browser.errors` the entries it caused that match `expected`: a
 * deliberate 4xx (a rejected upload, a forbidden call) is logged by Chromium as "Failed to load
 * resource", which is the browser reporting the error state the test asked for, not a console bug.
 */
export async function expectingErrors<T>(browser: ConsoleBrowser, expected: RegExp, fn: () => Promise<T>): Promise<T> {
  const start = browser.errors.length;
  const out = await fn();
  const caused = browser.errors.splice(start);
  browser.errors.push(...caused.filter((e) => !expected.test(e)));
  return out;
}

/** GraphQL over fetch from inside the page with the signed-in user's token (no named inner functions:
 * tsx's keepNames would inject a __name helper that does not exist in the page). */
export function gqlInPage<T = any>(
  page: Page,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ status: number; body: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] } }> {
  return page.evaluate(
    async ([q, v]) => {
      const session = JSON.parse(sessionStorage.getItem("gkmvlp.console.session") as string) as { token: string };
      const res = await fetch("/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${session.token}` },
        body: JSON.stringify({ query: q, variables: v }),
      });
      return { status: res.status, body: await res.json() };
    },
    [query, variables] as const,
  );
}

/** Form controls and buttons on the page that have no accessible name (label, aria-label or text). */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>("input, select, textarea, button, [role=button], canvas[tabindex]")) {
      const labelled =
        (el as HTMLInputElement).labels?.length ||
        el.getAttribute("aria-label")?.trim() ||
        el.getAttribute("aria-labelledby") ||
        ((el.tagName === "BUTTON" || el.getAttribute("role") === "button") && el.textContent?.trim());
      if (!labelled) out.push(el.outerHTML.slice(0, 120));
    }
    return out;
  });
}
