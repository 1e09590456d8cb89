/**
 * Findings table: probability against the decision threshold, grounded regions and knowledge.
 * What the model cannot vouch for is said on the row: a finding not validated on real films is
 * labelled so, and when the image's reliability is ABSTAIN nothing is shown as positive.
 */
import { h, replace } from "../../dom.ts";
import { pct } from "../../format.ts";
import { aiBanner, emptyState } from "../../ui.ts";
import type { Finding, ReliabilityLevel } from "../../types.ts";

export const NOT_ASSESSED = "Not assessed: input not readable";
export const NOT_VALIDATED = "not validated on real films";

function verdict(f: Finding, abstain: boolean): HTMLElement | null {
  if (abstain) return h("span", { class: "badge badge-not-assessed", "data-assessed": "false" }, NOT_ASSESSED);
  if (f.positive && !f.validatedOnRealData)
    return h("span", { class: "badge badge-positive badge-unvalidated" }, `Positive — ${NOT_VALIDATED}`);
  if (f.positive) return h("span", { class: "badge badge-positive" }, "Positive");
  return f.validatedOnRealData ? null : h("span", { class: "tag-unvalidated" }, NOT_VALIDATED);
}

function describe(f: Finding, abstain: boolean): string {
  if (abstain) return `${f.label}: ${NOT_ASSESSED.toLowerCase()}.`;
  const call = f.positive ? "positive" : "negative";
  return `${f.label}: ${pct(f.probability)}, threshold ${pct(f.threshold)}, ${call}${f.validatedOnRealData ? "" : `, ${NOT_VALIDATED}`}. Focus to highlight its regions.`;
}

export function findingsPanel(onHighlight: (regions: string[]) => void): {
  el: HTMLElement;
  update(findings: Finding[] | null, pending: string, level?: ReliabilityLevel | null): void;
} {
  const body = h("div");
  const el = h(
    "section",
    { class: "panel", "aria-labelledby": "findings-title" },
    h("h2", { id: "findings-title" }, "Findings"),
    aiBanner(),
    body,
  );
  let key = "";
  return {
    el,
    update(findings, pending, level = null) {
      const abstain = level === "ABSTAIN";
      const next = findings ? `${level}:${JSON.stringify(findings)}` : `pending:${pending}`;
      if (next === key) return;
      key = next;
      if (!findings) {
        replace(body, emptyState(pending));
        return;
      }
      if (findings.length === 0) {
        replace(body, emptyState("The classifier returned no findings."));
        return;
      }
      const rows = [...findings]
        .sort((a, b) => b.probability - a.probability)
        .map((f) => {
          const regions = f.regions.map((r) => r.region);
          const row = h(
            "tr",
            {
              tabindex: "0",
              class: f.positive && !abstain ? "finding-positive" : abstain ? "finding-not-assessed" : "",
              "data-finding": f.label,
              "data-validated": String(f.validatedOnRealData),
              "data-assessed": String(!abstain),
              "aria-label": describe(f, abstain),
              onmouseenter: () => onHighlight(regions),
              onmouseleave: () => onHighlight([]),
              onfocus: () => onHighlight(regions),
              onblur: () => onHighlight([]),
            },
            h(
              "th",
              { scope: "row" },
              f.label,
              verdict(f, abstain),
              f.knowledge ? h("span", { class: "knowledge", "data-knowledge": true }, f.knowledge) : null,
            ),
            // an abstaining model's number would read as a finding however it is styled
            h(
              "td",
              { class: "num" },
              abstain ? h("span", { class: "muted" }, "—") : probabilityBar(f.probability, f.threshold, f.rawProbability),
            ),
            h("td", { class: "num" }, pct(f.threshold, 0)),
            h(
              "td",
              { class: "regions-cell" },
              f.regions.length
                ? f.regions.slice(0, 3).map((r) => h("span", { class: "chip" }, `${r.region} ${(r.weight * 100).toFixed(0)}%`))
                : "—",
            ),
          );
          return row;
        });
      const unvalidated = findings.filter((f) => !f.validatedOnRealData).length;
      replace(
        body,
        abstain
          ? h(
              "p",
              { class: "notice notice-error", "data-testid": "findings-not-assessed" },
              "The image was not read as a frontal chest radiograph: no finding is assessed.",
            )
          : null,
        !abstain && unvalidated
          ? h(
              "p",
              { class: "muted small", "data-testid": "findings-unvalidated" },
              unvalidated === findings.length
                ? `None of these findings is validated on real films.`
                : `${unvalidated} of ${findings.length} findings are ${NOT_VALIDATED}.`,
            )
          : null,
        h(
          "div",
          { class: "table-wrap table-scroll" },
          h(
            "table",
            { class: "findings-table" },
            h(
              "caption",
              { class: "visually-hidden" },
              "Findings with probability, decision threshold, grounded regions and knowledge sentence",
            ),
            h(
              "thead",
              null,
              h(
                "tr",
                null,
                ["Finding and knowledge", "Probability", "Threshold", "Grounded regions"].map((t) => h("th", { scope: "col" }, t)),
              ),
            ),
            h("tbody", null, rows),
          ),
        ),
      );
    },
  };
}

function probabilityBar(p: number, threshold: number, raw?: number | null): HTMLElement {
  const calibrated = raw != null && Math.abs(raw - p) > 5e-4;
  return h(
    "span",
    { class: "prob", title: calibrated ? `calibrated; the model head gave ${pct(raw)}` : null },
    h(
      "span",
      { class: "prob-bar", "aria-hidden": "true" },
      h("span", { class: `prob-fill${p >= threshold ? " over" : ""}`, style: `width:${Math.round(p * 100)}%` }),
      h("span", { class: "prob-threshold", style: `left:${Math.round(threshold * 100)}%` }),
    ),
    pct(p),
  );
}
