/** Shared pieces of UI: page headings, loading/empty/error states, badges, form fields. */
import { h, uid, type Child } from "./dom.ts";
import { titleCase } from "./format.ts";
import { ApiError } from "./api.ts";

export function pageHeader(title: string, ...extra: Child[]): HTMLElement {
  return h("div", { class: "page-header" }, h("h1", { tabindex: "-1", "data-page-title": true }, title), ...extra);
}

export function loading(what: string): HTMLElement {
  return h(
    "div",
    { class: "state state-loading", role: "status", "aria-live": "polite" },
    h("span", { class: "spinner", "aria-hidden": "true" }),
    `Loading ${what}…`,
  );
}

export function emptyState(title: string, hint?: Child): HTMLElement {
  return h(
    "div",
    { class: "state state-empty", role: "status" },
    h("p", { class: "state-title" }, title),
    hint ? h("p", { class: "state-hint" }, hint) : null,
  );
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function errorState(what: string, err: unknown, retry?: () => void): HTMLElement {
  const forbidden = err instanceof ApiError && err.kind === "forbidden";
  return h(
    "div",
    { class: "state state-error", role: "alert" },
    h("p", { class: "state-title" }, forbidden ? `You do not have access to ${what}.` : `Could not load ${what}.`),
    h("p", { class: "state-hint" }, errorMessage(err)),
    retry && !forbidden ? h("button", { type: "button", class: "btn", onclick: retry }, "Try again") : null,
  );
}

export function statusBadge(status: string): HTMLElement {
  return h("span", { class: `badge badge-${status.toLowerCase()}` }, titleCase(status));
}

export function aiBanner(): HTMLElement {
  return h("p", { class: "ai-banner", role: "note" }, h("strong", null, "AI draft"), " — not for clinical use without review");
}

export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  const id = control.id || uid("f");
  control.id = id;
  let hintEl: HTMLElement | null = null;
  if (hint) {
    hintEl = h("span", { class: "field-hint", id: `${id}-hint` }, hint);
    control.setAttribute("aria-describedby", `${id}-hint`);
  }
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl);
}

export function select(name: string, options: { value: string; label: string }[], selected?: string): HTMLSelectElement {
  const el = h("select", { name });
  for (const o of options) {
    const opt = h("option", { value: o.value }, o.label);
    if (o.value === selected) opt.selected = true;
    el.appendChild(opt);
  }
  return el;
}

/** A polite live region that announces the outcome of actions to screen readers and shows it. */
export function notice(): { el: HTMLElement; show(kind: "ok" | "error" | "info", text: string): void; clear(): void } {
  const el = h("div", { class: "notice", role: "status", "aria-live": "polite" });
  return {
    el,
    show(kind, text) {
      el.className = `notice notice-${kind}`;
      el.setAttribute("role", kind === "error" ? "alert" : "status");
      el.textContent = text;
    },
    clear() {
      el.className = "notice";
      el.textContent = "";
    },
  };
}

export function table(
  caption: string,
  headers: string[],
  rows: HTMLTableRowElement[],
  opts: { captionHidden?: boolean } = {},
): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      null,
      h("caption", { class: opts.captionHidden ? "visually-hidden" : null }, caption),
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          headers.map((t) => h("th", { scope: "col" }, t)),
        ),
      ),
      h("tbody", null, rows),
    ),
  );
}

/** Runs `fn` at most once per `wait` ms, trailing call included. */
export function debounce(fn: () => void, wait: number): { (): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const run = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, wait);
  };
  run.cancel = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  return run;
}
