/** Audit log: who read or changed what, filterable by actor, action, target type and time. */
import { h, replace } from "../dom.ts";
import { AUDIT } from "../queries.ts";
import { dateTime } from "../format.ts";
import { href, navigate } from "../router.ts";
import { emptyState, errorMessage, errorState, field, loading, pageHeader } from "../ui.ts";
import type { AuditEvent, PageInfo } from "../types.ts";
import type { ViewFn } from "./context.ts";

const PAGE = 50;

export const renderAudit: ViewFn = (root, { api, route }) => {
  const q = route.query;
  const actor = h("input", { name: "actor", value: q.get("actor") ?? "", placeholder: "e.g. user:<id>" });
  const action = h("input", { name: "action", value: q.get("action") ?? "", placeholder: "e.g. report.accept" });
  const targetType = h("input", { name: "targetType", value: q.get("targetType") ?? "", placeholder: "e.g. Study" });
  const since = h("input", { type: "datetime-local", name: "since", value: q.get("since") ?? "" });
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter audit events" },
    field("Actor", actor),
    field("Action", action),
    field("Target type", targetType),
    field("Since", since),
    h(
      "div",
      { class: "field field-actions" },
      h("button", { type: "submit", class: "btn btn-primary" }, "Apply"),
      h("button", { type: "button", class: "btn btn-quiet", onclick: () => navigate(href("audit")) }, "Clear"),
    ),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    navigate(
      href("audit", undefined, {
        actor: actor.value.trim(),
        action: action.value.trim(),
        targetType: targetType.value.trim(),
        since: since.value,
      }),
    );
  });
  const results = h("div", null, loading("the audit log"));
  replace(root, pageHeader("Audit log"), form, results);

  const filter: Record<string, string> = {};
  for (const k of ["actor", "action", "targetType"] as const) if (q.get(k)) filter[k] = q.get(k) as string;
  const sinceValue = q.get("since");
  if (sinceValue && !Number.isNaN(new Date(sinceValue).getTime())) filter.since = new Date(sinceValue).toISOString();

  let stopped = false;
  let pageInfo: PageInfo | null = null;
  let count = 0;
  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "btn" }, "Load more");
  const moreStatus = h("span", { class: "muted", role: "status" });

  async function load(after: string | null): Promise<void> {
    more.disabled = true;
    try {
      const data = await api.query<{ auditEvents: { pageInfo: PageInfo; edges: { node: AuditEvent }[] } }>(AUDIT, {
        first: PAGE,
        after,
        filter,
      });
      if (stopped) return;
      pageInfo = data.auditEvents.pageInfo;
      const events = data.auditEvents.edges.map((e) => e.node);
      count += events.length;
      if (after === null) {
        if (events.length === 0) {
          replace(
            results,
            Object.keys(filter).length ? emptyState("No audit events match these filters.") : emptyState("The audit log is empty."),
          );
          return;
        }
        replace(
          results,
          h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { class: "audit-table" },
              h("caption", { class: "visually-hidden" }, "Audit events, newest first"),
              h(
                "thead",
                null,
                h(
                  "tr",
                  null,
                  ["Time", "Actor", "Action", "Target", "Details"].map((t) => h("th", { scope: "col" }, t)),
                ),
              ),
              tbody,
            ),
          ),
          h("div", { class: "load-more" }, more, moreStatus),
        );
      }
      for (const ev of events) tbody.appendChild(row(ev));
      more.hidden = !pageInfo.hasNextPage;
      moreStatus.textContent = `${count} events shown`;
    } catch (err) {
      if (stopped) return;
      if (after === null)
        replace(
          results,
          errorState("the audit log", err, () => void load(null)),
        );
      else moreStatus.textContent = `Could not load more: ${errorMessage(err)}`;
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", () => void load(pageInfo?.endCursor ?? null));
  void load(null);
  return () => {
    stopped = true;
  };
};

function row(ev: AuditEvent): HTMLTableRowElement {
  const details = ev.details === null || ev.details === undefined ? "" : JSON.stringify(ev.details);
  const studyId = ev.targetType === "Study" ? ev.targetId : studyIdIn(ev.details);
  const target = [
    ev.targetId ?? "",
    studyId ? h("a", { href: href("study", studyId), class: "small" }, ev.targetType === "Study" ? " open" : " open study") : null,
  ];
  return h(
    "tr",
    { "data-action": ev.action },
    h("td", null, h("time", { datetime: ev.at }, dateTime(ev.at))),
    h("td", null, ev.actor),
    h("td", null, h("code", null, ev.action)),
    h("td", null, ev.targetType, " ", target),
    h(
      "td",
      { class: "details" },
      details.length > 80
        ? h("details", null, h("summary", null, `${details.slice(0, 60)}…`), h("pre", null, JSON.stringify(ev.details, null, 2)))
        : h("code", null, details),
    ),
  );
}

function studyIdIn(details: unknown): string | null {
  const id = details && typeof details === "object" ? (details as Record<string, unknown>).studyId : null;
  return typeof id === "string" ? id : null;
}
