/**
 * DICOM in (ADMIN): which calling AE titles send to this tenant and what their images start, and the ingest log
 * (every instance the watcher handled: ingested into a study, or skipped with its reason), newest first.
 */
import { h, replace } from "../dom.ts";
import { PACS_INGEST_LOG, PACS_SOURCES, REMOVE_PACS_SOURCE, SET_PACS_SOURCE } from "../queries.ts";
import { dateTime } from "../format.ts";
import { href } from "../router.ts";
import { emptyState, errorMessage, errorState, field, loading, notice, pageHeader, table } from "../ui.ts";
import type { ViewFn } from "./context.ts";

const PAGE = 50;
const TASKS = ["CLASSIFICATION", "LOCALIZATION", "REPORT", "VQA"] as const;

export const renderPacs: ViewFn = (root, { api }) => {
  let stopped = false;
  const sources = h("div", null, loading("the AE titles"));
  const aet = h("input", { name: "callingAeTitle", maxlength: "16", autocomplete: "off", required: true });
  const boxes = TASKS.map((t) => h("input", { type: "checkbox", name: "tasks", value: t, checked: true }) as HTMLInputElement);
  const saved = notice();
  const form = h(
    "form",
    { class: "filters", "aria-label": "Map an AE title to this tenant" },
    field("Calling AE title", aet),
    h(
      "fieldset",
      { class: "field" },
      h("legend", null, "Analyses to start"),
      TASKS.map((t, i) => h("label", null, boxes[i]!, ` ${t.toLowerCase()}`)),
    ),
    h("div", { class: "field field-actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "Save")),
    saved.el,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void (async () => {
      try {
        const tasks = TASKS.filter((_t, i) => boxes[i]!.checked);
        const r = (await api.query(SET_PACS_SOURCE, { input: { callingAeTitle: aet.value.trim(), tasks: [...tasks] } })).setPacsSource;
        if (r.errors.length) saved.show("error", r.errors.map((x) => x.message).join(" "));
        else {
          saved.show("ok", `${r.source?.callingAeTitle} is mapped to this tenant.`);
          await loadSources();
        }
      } catch (err) {
        saved.show("error", errorMessage(err));
      }
    })();
  });

  // later instances from a removed title are logged as from an unknown source; studies already received stay
  async function removeSource(callingAeTitle: string): Promise<void> {
    try {
      const r = (await api.query(REMOVE_PACS_SOURCE, { callingAeTitle })).removePacsSource;
      if (r.errors.length) saved.show("error", r.errors.map((x) => x.message).join(" "));
      else saved.show("ok", `${callingAeTitle} no longer sends to this tenant.`);
      await loadSources();
    } catch (err) {
      saved.show("error", errorMessage(err));
    }
  }

  async function loadSources(): Promise<void> {
    try {
      const data = await api.query(PACS_SOURCES);
      if (stopped) return;
      const rows = data.pacsSources.map((s) => {
        const remove = h("button", { type: "button", class: "btn", "aria-label": `Remove ${s.callingAeTitle}` }, "Remove");
        remove.addEventListener("click", () => void removeSource(s.callingAeTitle));
        return h(
          "tr",
          null,
          h("td", null, s.callingAeTitle),
          h("td", null, s.tasks.length ? s.tasks.join(", ") : "all four"),
          h("td", null, remove),
        );
      });
      replace(
        sources,
        rows.length ? table("Calling AE titles", ["AE title", "Analyses", ""], rows) : emptyState("No AE title is mapped yet."),
      );
    } catch (err) {
      if (!stopped)
        replace(
          sources,
          errorState("the AE titles", err, () => void loadSources()),
        );
    }
  }

  const log = h("div", null, loading("the ingest log"));
  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "btn" }, "Load more");
  let endCursor: string | null = null;
  async function loadLog(after: string | null): Promise<void> {
    try {
      const data = await api.query(PACS_INGEST_LOG, { first: PAGE, after });
      if (stopped) return;
      const page = data.pacsIngestLog;
      endCursor = page.pageInfo.endCursor ?? null;
      if (after === null) {
        if (page.edges.length === 0) return void replace(log, emptyState("Nothing received from the PACS yet."));
        replace(
          log,
          h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { class: "pacs-log" },
              h("caption", { class: "visually-hidden" }, "Instances received, newest first"),
              h(
                "thead",
                null,
                h(
                  "tr",
                  null,
                  ["Time", "AE title", "Outcome", "Reason", "Study"].map((t) => h("th", { scope: "col" }, t)),
                ),
              ),
              tbody,
            ),
          ),
          h("div", { class: "load-more" }, more),
        );
      }
      for (const { node: n } of page.edges) {
        tbody.appendChild(
          h(
            "tr",
            { "data-outcome": n.outcome },
            h("td", null, dateTime(n.createdAt)),
            h("td", null, n.callingAeTitle ?? "(none)"),
            h("td", null, n.outcome === "INGESTED" ? "Ingested" : "Skipped"),
            h("td", null, n.reason ?? ""),
            h("td", null, n.studyId ? h("a", { href: href("study", n.studyId) }, "Open") : ""),
          ),
        );
      }
      more.hidden = !page.pageInfo.hasNextPage;
    } catch (err) {
      if (!stopped && after === null)
        replace(
          log,
          errorState("the ingest log", err, () => void loadLog(null)),
        );
    }
  }
  more.addEventListener("click", () => void loadLog(endCursor));

  replace(root, pageHeader("PACS in"), h("h2", null, "Calling AE titles"), sources, form, h("h2", null, "Ingest log"), log);
  void loadSources();
  void loadLog(null);
  return () => {
    stopped = true;
  };
};
