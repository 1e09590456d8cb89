/**
 * Studies list: search (patient MRN or accession prefix), status, "finding at or above a
 * probability" filter, and cursor pagination with "Load more". Filters live in the URL so that
 * Back returns to the same list.
 */
import { h, replace } from "../dom.ts";
import { LABELS, STUDIES } from "../queries.ts";
import { dateOnly, pct, titleCase } from "../format.ts";
import { href, navigate } from "../router.ts";
import { emptyState, errorMessage, errorState, field, loading, pageHeader, select, statusBadge } from "../ui.ts";
import { STUDY_STATUSES, type PageInfo, type ReliabilityLevel, type ReviewAction, type Study } from "../types.ts";
import type { ViewFn } from "./context.ts";

interface StudyRow extends Study {
  latestFindings: { label: string; probability: number; positive: boolean; validatedOnRealData: boolean }[];
  latestReliability: { level: ReliabilityLevel } | null;
  latestReport: { analysisId: string; reviewStatus: ReviewAction | null } | null;
}
interface StudiesData {
  studies: { totalCount: number; pageInfo: PageInfo; edges: { cursor: string; node: StudyRow }[] };
}

const PAGE = 20;

export const renderStudies: ViewFn = (root, { api, route }) => {
  const q = route.query;
  const search = h("input", { type: "search", name: "search", value: q.get("search") ?? "", placeholder: "MRN or accession number" });
  const status = select(
    "status",
    [{ value: "", label: "Any status" }, ...STUDY_STATUSES.map((s) => ({ value: s, label: titleCase(s) }))],
    q.get("status") ?? "",
  );
  const label = select("label", [{ value: "", label: "Any finding" }], q.get("label") ?? "");
  const minProb = h("input", { type: "number", name: "min", min: "0", max: "1", step: "0.05", value: q.get("min") ?? "0.5" });
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter studies" },
    field("Search", search),
    field("Status", status),
    field("Finding", label),
    field("Probability ≥ (0–1)", minProb),
    h(
      "div",
      { class: "field field-actions" },
      h("button", { type: "submit", class: "btn btn-primary" }, "Apply"),
      h("button", { type: "button", class: "btn btn-quiet", onclick: () => navigate(href("studies")) }, "Clear"),
    ),
  );
  const summary = h("p", { class: "muted", role: "status", "aria-live": "polite" });
  const results = h("div", null, loading("studies"));
  replace(root, pageHeader("Studies", h("a", { class: "btn", href: href("upload") }, "Upload study")), form, summary, results);

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const min = Number(minProb.value);
    if (label.value && (Number.isNaN(min) || min < 0 || min > 1)) {
      summary.textContent = "The probability must be a number between 0 and 1.";
      minProb.focus();
      return;
    }
    navigate(
      href("studies", undefined, {
        search: search.value.trim(),
        status: status.value,
        label: label.value,
        min: label.value ? minProb.value : undefined,
      }),
    );
  });

  let stopped = false;
  api.query<{ labels: string[] }>(LABELS).then(
    ({ labels }) => {
      if (stopped) return;
      for (const l of labels) {
        const opt = h("option", { value: l }, l);
        if (l === q.get("label")) opt.selected = true;
        label.appendChild(opt);
      }
    },
    () => undefined,
  ); // the filter still works without the label list; the studies query reports errors

  const filter: Record<string, unknown> = {};
  if (q.get("search")) filter.search = q.get("search");
  if (q.get("status")) filter.status = q.get("status");
  if (q.get("label")) filter.finding = { label: q.get("label"), minProbability: Number(q.get("min") ?? "0.5") };

  const rows: StudyRow[] = [];
  let pageInfo: PageInfo | null = null;
  let total = 0;
  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "btn" }, "Load more");
  const moreStatus = h("span", { class: "muted", role: "status" });

  async function load(after: string | null): Promise<void> {
    more.disabled = true;
    more.textContent = "Loading…";
    try {
      const data = await api.query<StudiesData>(STUDIES, { first: PAGE, after, filter });
      if (stopped) return;
      const page = data.studies;
      total = page.totalCount;
      pageInfo = page.pageInfo;
      const fresh = page.edges.map((e) => e.node);
      rows.push(...fresh);
      draw(fresh, after === null);
      moreStatus.textContent = "";
    } catch (err) {
      if (stopped) return;
      if (after === null)
        replace(
          results,
          errorState("studies", err, () => {
            replace(results, loading("studies"));
            void load(null);
          }),
        );
      else moreStatus.textContent = `Could not load more: ${errorMessage(err)}`;
    } finally {
      more.disabled = false;
      more.textContent = "Load more";
    }
  }

  function draw(fresh: StudyRow[], first: boolean): void {
    const filtered = Object.keys(filter).length > 0;
    summary.textContent = `${rows.length} of ${total} ${total === 1 ? "study" : "studies"}${filtered ? " matching the filters" : ""}`;
    if (first && rows.length === 0) {
      replace(
        results,
        filtered
          ? emptyState("No studies match these filters.", "Try a shorter search or a lower probability.")
          : emptyState("There are no studies yet.", h("a", { href: href("upload") }, "Upload the first study")),
      );
      return;
    }
    if (first) {
      replace(
        results,
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "studies-table" },
            h("caption", { class: "visually-hidden" }, "Studies"),
            h(
              "thead",
              null,
              h(
                "tr",
                null,
                ["Patient", "Accession", "Description", "Status", "Top finding", "Report", "Date"].map((t) => h("th", { scope: "col" }, t)),
              ),
            ),
            tbody,
          ),
        ),
        h("div", { class: "load-more" }, more, moreStatus),
      );
    }
    for (const s of fresh) tbody.appendChild(studyRow(s));
    more.hidden = !pageInfo?.hasNextPage;
  }

  more.addEventListener("click", () => void load(pageInfo?.endCursor ?? null));
  void load(null);
  return () => {
    stopped = true;
  };
};

function studyRow(s: StudyRow): HTMLTableRowElement {
  const top = [...s.latestFindings].sort((a, b) => b.probability - a.probability)[0];
  const link = h("a", { href: href("study", s.id) }, s.patient.externalId);
  return h(
    "tr",
    null,
    h("th", { scope: "row" }, link, s.patient.displayName ? h("span", { class: "muted" }, ` ${s.patient.displayName}`) : null),
    h("td", null, s.accessionNumber ?? "—"),
    h("td", null, s.description ?? "—"),
    h("td", null, statusBadge(s.status)),
    h("td", null, topFinding(s, top)),
    h(
      "td",
      null,
      s.latestReport
        ? s.latestReport.reviewStatus
          ? statusBadge(s.latestReport.reviewStatus)
          : h("span", { class: "muted" }, "Not reviewed")
        : "—",
    ),
    h("td", null, dateOnly(s.studyDate ?? s.createdAt)),
  );
}

/** The list's one-glance finding, with the same caveats as the study page. */
function topFinding(s: StudyRow, top: StudyRow["latestFindings"][number] | undefined): HTMLElement | string {
  if (!top) return "—";
  if (s.latestReliability?.level === "ABSTAIN")
    return h("span", { class: "muted", "data-assessed": "false" }, "Not assessed: input not readable");
  return h(
    "span",
    { class: top.positive ? "positive" : "", title: top.validatedOnRealData ? null : "not validated on real films" },
    `${top.label} ${pct(top.probability, 0)}${top.positive && !top.validatedOnRealData ? " (not validated)" : ""}`,
  );
}
