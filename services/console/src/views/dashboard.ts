/**
 * Dashboard: queue depth per task, throughput, failures and dead letters, worker health.
 * Refreshes every few seconds and, sooner, whenever tenantAnalysisUpdates reports a transition.
 */
import { h, replace } from "../dom.ts";
import { DASHBOARD, TENANT_UPDATES } from "../queries.ts";
import { ago, dateTime, shortHash, taskName } from "../format.ts";
import { href } from "../router.ts";
import { debounce, emptyState, errorState, loading, pageHeader, statusBadge, table } from "../ui.ts";
import type { DashboardQuery } from "../generated/operations.ts";
import type { ViewFn } from "./context.ts";

type DashboardData = DashboardQuery;

const REFRESH_MS = 5000;

export const renderDashboard: ViewFn = (root, { api }) => {
  const body = h("div", { class: "dashboard-body" }, loading("the dashboard"));
  const updated = h("span", { class: "muted", "aria-live": "off" });
  const feedList = h("ol", { class: "feed", "aria-label": "Recent analysis updates" });
  const feedEmpty = emptyState(
    "No analysis updates since you opened this page.",
    "Updates appear here as workers pick up and finish analyses.",
  );
  const feed = h(
    "section",
    { class: "panel", "aria-labelledby": "feed-title" },
    h("h2", { id: "feed-title" }, "Live activity"),
    feedEmpty,
    feedList,
  );
  replace(root, pageHeader("Dashboard", updated), body, feed);
  let stopped = false;
  let lastData: DashboardData | null = null;

  async function load(): Promise<void> {
    try {
      const data = await api.query(DASHBOARD);
      if (stopped) return;
      lastData = data;
      replace(body, ...renderData(data));
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      if (stopped) return;
      // Keep the last good numbers on screen during a transient failure, but say so.
      if (lastData) updated.textContent = `Refresh failed at ${new Date().toLocaleTimeString()}; showing earlier numbers`;
      else
        replace(
          body,
          errorState("the dashboard", err, () => void load()),
        );
    }
  }

  const refreshSoon = debounce(() => void load(), 400);
  const timer = setInterval(() => void load(), REFRESH_MS);
  const unsubscribe = api.subscribe(
    TENANT_UPDATES,
    {},
    (data) => {
      const u = data.tenantAnalysisUpdates;
      feedEmpty.remove();
      const study = u.analysis.study;
      feedList.prepend(
        h(
          "li",
          null,
          h("time", { datetime: u.at }, new Date(u.at).toLocaleTimeString()),
          " ",
          h("span", { class: "task" }, taskName(u.analysis.task)),
          " ",
          statusBadge(u.status),
          " ",
          h(
            "a",
            { href: href("study", study.id) },
            `${study.patient.externalId}${study.accessionNumber ? ` / ${study.accessionNumber}` : ""}`,
          ),
          u.status === "FAILED" && u.analysis.errorMessage ? h("span", { class: "error-text" }, ` — ${u.analysis.errorMessage}`) : null,
        ),
      );
      while (feedList.children.length > 20) feedList.lastElementChild?.remove();
      refreshSoon();
    },
    undefined,
    {
      // after a reconnect the feed gets what happened while the socket was down, not only what comes next
      cursorOf: (data) => data.tenantAnalysisUpdates.cursor,
      onResync: () => refreshSoon(),
    },
  );
  void load();

  return () => {
    stopped = true;
    clearInterval(timer);
    refreshSoon.cancel();
    unsubscribe();
  };
};

function renderData(data: DashboardData): HTMLElement[] {
  const q = data.queue;
  const sum = (k: "queued" | "running" | "failedLastHour" | "succeededLastHour") => q.tasks.reduce((a, t) => a + t[k], 0);
  const healthy = data.workers.filter((w) => w.healthy).length;
  const stats = h(
    "dl",
    { class: "stat-cards" },
    stat("Queued", sum("queued"), "analyses waiting for a worker"),
    stat("Running", sum("running"), "analyses in progress"),
    stat("Throughput", `${q.throughputPerMinute.toFixed(1)}/min`, "finished per minute, last 10 minutes"),
    stat("Failed (1 h)", sum("failedLastHour"), "analyses that failed in the last hour", sum("failedLastHour") > 0),
    stat("Dead letters", q.deadLetters, "messages that exhausted their retries", q.deadLetters > 0),
    stat(
      "Workers healthy",
      `${healthy} / ${data.workers.length}`,
      "workers with a recent heartbeat",
      healthy < data.workers.length || data.workers.length === 0,
    ),
  );

  const queueTable = q.tasks.length
    ? table(
        "Queue by task",
        ["Task", "Queued", "Running", "Succeeded (1 h)", "Failed (1 h)"],
        q.tasks.map((t) =>
          h(
            "tr",
            null,
            h("th", { scope: "row" }, taskName(t.task)),
            h("td", { class: "num" }, t.queued),
            h("td", { class: "num" }, t.running),
            h("td", { class: "num" }, t.succeededLastHour),
            h("td", { class: `num${t.failedLastHour ? " error-text" : ""}` }, t.failedLastHour),
          ),
        ),
      )
    : emptyState("No analyses have been requested yet.", h("a", { href: href("upload") }, "Upload a study to start"));

  const now = Date.now();
  const workerTable = data.workers.length
    ? table(
        "Workers",
        ["Host", "Health", "Status", "Last heartbeat", "Model", "Bundle", "In flight", "Processed"],
        data.workers.map((w) =>
          h(
            "tr",
            null,
            h("th", { scope: "row" }, w.host),
            h(
              "td",
              null,
              h("span", { class: `health ${w.healthy ? "health-ok" : "health-bad"}` }, w.healthy ? "Healthy" : "No recent heartbeat"),
            ),
            h("td", null, w.status),
            h("td", { title: dateTime(w.lastSeenAt) }, ago(w.lastSeenAt, now)),
            h("td", null, w.modelVersion ?? "—"),
            h("td", null, h("code", { title: w.bundleSha256 ?? "" }, shortHash(w.bundleSha256))),
            h("td", { class: "num" }, w.inFlight),
            h("td", { class: "num" }, w.processed),
          ),
        ),
      )
    : emptyState("No workers have reported a heartbeat.", "Start an analysis worker; it appears here within a few seconds.");

  return [
    stats,
    h(
      "div",
      { class: "two-col" },
      h("section", { class: "panel", "aria-labelledby": "queue-title" }, h("h2", { id: "queue-title" }, "Queue"), queueTable),
      h("section", { class: "panel", "aria-labelledby": "workers-title" }, h("h2", { id: "workers-title" }, "Workers"), workerTable),
    ),
  ];
}

function stat(label: string, value: string | number, hint: string, alarm = false): HTMLElement {
  return h(
    "div",
    { class: `stat${alarm ? " stat-alarm" : ""}`, title: hint },
    h("dt", null, label),
    h("dd", { "data-stat": label }, String(value)),
  );
}
