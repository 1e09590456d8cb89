/**
 * Model versions: provenance (what the model was trained on, shown prominently), metrics, which
 * workers run which bundle; activate and retire for platform operators, with a confirmation step.
 */
import { h, replace } from "../dom.ts";
import { ACTIVATE_MODEL, MODELS, RETIRE_MODEL } from "../queries.ts";
import { ago, dateTime, shortHash, taskName } from "../format.ts";
import { canManageModels } from "../access.ts";
import { emptyState, errorMessage, errorState, loading, notice, pageHeader, statusBadge } from "../ui.ts";
import type { ModelVersion } from "../types.ts";
import type { ViewFn } from "./context.ts";

export const renderModels: ViewFn = (root, { api, session }) => {
  const admin = canManageModels(session.viewer.role);
  const body = h("div", null, loading("model versions"));
  const status = notice();
  replace(
    root,
    pageHeader("Models"),
    admin
      ? null
      : h(
          "p",
          { class: "muted" },
          "Read only: models are shared by every tenant, so only a platform operator can activate or retire them.",
        ),
    status.el,
    body,
  );
  let stopped = false;

  async function load(): Promise<void> {
    try {
      const data = await api.query(MODELS);
      if (stopped) return;
      if (data.models.length === 0) {
        replace(body, emptyState("No model versions are registered.", "A worker registers its bundle when it starts."));
        return;
      }
      const order = { ACTIVE: 0, CANDIDATE: 1, RETIRED: 2 } as const;
      const models = [...data.models].sort((a, b) => order[a.status] - order[b.status] || b.createdAt.localeCompare(a.createdAt));
      const known = new Set(models.map((m) => m.bundleSha256));
      const orphans = data.workers.filter((w) => w.bundleSha256 && !known.has(w.bundleSha256));
      replace(
        body,
        ...models.map((m) => card(m)),
        orphans.length
          ? h(
              "p",
              { class: "notice notice-error" },
              `${orphans.length} worker(s) run a bundle that is not registered: ${orphans.map((w) => `${w.host} (${shortHash(w.bundleSha256)})`).join(", ")}`,
            )
          : null,
      );
    } catch (err) {
      if (!stopped)
        replace(
          body,
          errorState("model versions", err, () => void load()),
        );
    }
  }

  async function change(m: ModelVersion, action: "activate" | "retire"): Promise<void> {
    status.show("info", `${action === "activate" ? "Activating" : "Retiring"} ${m.name} ${m.version}…`);
    try {
      const payload =
        action === "activate"
          ? (await api.query(ACTIVATE_MODEL, { id: m.id })).activateModel
          : (await api.query(RETIRE_MODEL, { id: m.id })).retireModel;
      if (payload?.errors.length) throw new Error(payload.errors.map((e) => e.message).join("; "));
      status.show("ok", `${m.name} ${m.version} ${action === "activate" ? "is now active" : "is retired"}.`);
      await load();
    } catch (err) {
      status.show("error", `Could not ${action} ${m.name} ${m.version}: ${errorMessage(err)}`);
    }
  }

  function actions(m: ModelVersion): HTMLElement | null {
    if (!admin) return null;
    const box = h("div", { class: "model-actions", role: "group", "aria-label": `Actions for ${m.name} ${m.version}` });
    const confirmStep = (action: "activate" | "retire") => {
      replace(
        box,
        h("span", null, action === "activate" ? "New analyses will use this version. " : "Workers stop using this version. "),
        h(
          "button",
          { type: "button", class: `btn ${action === "retire" ? "btn-danger" : "btn-primary"}`, onclick: () => void change(m, action) },
          `Confirm ${action}`,
        ),
        h(
          "button",
          {
            type: "button",
            class: "btn btn-quiet",
            onclick: () => {
              replace(box, ...buttons());
            },
          },
          "Cancel",
        ),
      );
      box.querySelector("button")?.focus();
    };
    const buttons = () =>
      [
        m.status !== "ACTIVE"
          ? h("button", { type: "button", class: "btn btn-primary", onclick: () => confirmStep("activate") }, "Activate")
          : null,
        m.status !== "RETIRED"
          ? h("button", { type: "button", class: "btn btn-danger", onclick: () => confirmStep("retire") }, "Retire")
          : null,
      ].filter((b): b is HTMLButtonElement => b !== null);
    replace(box, ...buttons());
    return box;
  }

  function card(m: ModelVersion): HTMLElement {
    const synthetic = /synthetic/i.test(m.trainedOn);
    return h(
      "article",
      { class: "panel model-card", "aria-labelledby": `model-${m.id}`, "data-model": m.id },
      h(
        "div",
        { class: "model-head" },
        h("h2", { id: `model-${m.id}` }, `${m.name} `, h("span", { class: "muted" }, m.version)),
        statusBadge(m.status),
        actions(m),
      ),
      h(
        "p",
        { class: `trained-on${synthetic ? " trained-synthetic" : ""}` },
        h("strong", null, "Trained on: "),
        m.trainedOn,
        synthetic
          ? h(
              "span",
              null,
              m.realFilmMetrics.length
                ? " — the table below was measured on real radiographs; the metrics list after it on synthetic images, which say nothing about real X-rays."
                : " — the metrics below were measured on synthetic images and say nothing about performance on real X-rays.",
            )
          : null,
      ),
      h(
        "dl",
        { class: "model-facts" },
        h("dt", null, "Bundle"),
        h("dd", null, h("code", { title: m.bundleSha256 }, shortHash(m.bundleSha256))),
        h("dt", null, "Tasks"),
        h("dd", null, m.tasks.map(taskName).join(", ") || "—"),
        h("dt", null, "Calibrated"),
        h(
          "dd",
          { "data-fact": "calibrated" },
          m.calibrated ? "Yes (Platt scaling per finding)" : "No: probabilities are the raw head outputs",
        ),
        h("dt", null, "Input check"),
        h(
          "dd",
          { "data-fact": "checks-input" },
          m.checksInput ? "Yes (frontal chest radiograph, distance from training films)" : "No: every result is marked “caution”",
        ),
        h("dt", null, "Validated on real films"),
        h("dd", { "data-fact": "validated" }, m.validatedOnRealData.length ? m.validatedOnRealData.join(", ") : "None"),
        h("dt", null, "Registered"),
        h("dd", null, dateTime(m.createdAt)),
        h("dt", null, "Workers"),
        h(
          "dd",
          null,
          m.workers.length
            ? m.workers.map((w) =>
                h(
                  "span",
                  { class: `chip ${w.healthy ? "" : "chip-bad"}` },
                  `${w.host} · ${w.healthy ? "healthy" : "stale"} · seen ${ago(w.lastSeenAt)}`,
                ),
              )
            : "No worker runs this version",
        ),
      ),
      realFilmTable(m.realFilmMetrics),
      metricsTable(m.metrics),
    );
  }

  void load();
  return () => {
    stopped = true;
  };
};

const auc = (v: number | null) => (v === null ? "–" : v.toFixed(2));

/** Each finding's AUC on real films beside chance on the same films; a lower bound at or under 0.5 is no evidence. */
function realFilmTable(rows: ModelVersion["realFilmMetrics"]): HTMLElement | null {
  if (!rows.length) return null;
  return h(
    "table",
    { class: "metrics-table real-film-metrics", "data-testid": "real-film-metrics" },
    h("caption", null, "Measured on real radiographs (AUC with 95 % CI; chance = the same films with shuffled labels)"),
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        ["Finding", "AUC", "95 % CI", "Chance", "Films (pos / neg)", "Films"].map((c) => h("th", { scope: "col" }, c)),
      ),
    ),
    h(
      "tbody",
      null,
      rows.map((r, i) => {
        const noEvidence = r.ciLow === null || r.ciLow <= 0.5;
        // the same finding on another set of films follows its main figure (the API keeps that order)
        const otherSet = i > 0 && rows[i - 1]?.label === r.label;
        return h(
          "tr",
          { "data-label": r.label, class: [noEvidence ? "no-evidence" : "", otherSet ? "other-set" : ""].join(" ").trim() },
          h("th", { scope: "row" }, r.label),
          h("td", { class: "num" }, auc(r.auc)),
          h("td", { class: "num" }, r.ciLow === null ? "–" : `${auc(r.ciLow)}–${auc(r.ciHigh)}`, noEvidence ? " (not above chance)" : ""),
          h("td", { class: "num" }, auc(r.baselineAuc)),
          h("td", { class: "num" }, `${r.positives ?? "?"} / ${r.negatives ?? "?"}`),
          h("td", null, r.set),
        );
      }),
    ),
  );
}

/** Flattens nested metric JSON into "path → value" rows. */
function metricsTable(metrics: unknown): HTMLElement {
  const rows: [string, string][] = [];
  const walk = (v: unknown, path: string) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      for (const [k, child] of Object.entries(v as Record<string, unknown>)) walk(child, path ? `${path}.${k}` : k);
    } else {
      rows.push([path || "value", typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : JSON.stringify(v)]);
    }
  };
  walk(metrics, "");
  if (metrics === null || metrics === undefined || rows.length === 0)
    return h("p", { class: "muted" }, "No metrics recorded for this version.");
  return h(
    "details",
    { class: "metrics", open: rows.length <= 16 },
    h("summary", null, `Metrics (${rows.length})`),
    h(
      "table",
      { class: "metrics-table" },
      h("caption", { class: "visually-hidden" }, "Evaluation metrics"),
      h(
        "tbody",
        null,
        rows.map(([k, v]) => h("tr", null, h("th", { scope: "row" }, k), h("td", { class: "num" }, v))),
      ),
    ),
  );
}
