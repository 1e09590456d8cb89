/**
 * The study's reliability banner: what the model's own input check says about this image, in words.
 * Shown only for CAUTION and ABSTAIN (an OK image needs no banner; the AI-draft notes stay anyway).
 */
import { h, replace } from "../../dom.ts";
import { pct } from "../../format.ts";
import type { Reliability } from "../../types.ts";

const TITLES = {
  CAUTION: "Read with caution: the model’s outputs on this image may not be reliable",
  ABSTAIN:
    "Not assessed: the model could not read this image as a frontal chest radiograph. Its outputs are kept for audit but are not findings.",
} as const;

export function reliabilityBanner(): { el: HTMLElement; update(r: Reliability | null): void } {
  const el = h("section", {
    class: "reliability-banner",
    "data-testid": "reliability-banner",
    "aria-label": "Reliability of the AI results",
    hidden: true,
  });
  let key = "";
  return {
    el,
    update(r) {
      const next = r ? JSON.stringify(r) : "";
      if (next === key) return;
      key = next;
      if (!r || r.level === "OK") {
        el.hidden = true;
        el.removeAttribute("data-level");
        el.removeAttribute("role");
        replace(el);
        return;
      }
      el.hidden = false;
      el.dataset.level = r.level;
      el.className = `reliability-banner reliability-${r.level.toLowerCase()}`;
      // an ABSTAIN must interrupt; a caution is announced politely
      el.setAttribute("role", r.level === "ABSTAIN" ? "alert" : "status");
      replace(
        el,
        h("p", { class: "reliability-title" }, h("strong", null, TITLES[r.level])),
        h(
          "ul",
          { class: "reliability-reasons" },
          r.reasons.map((x) => h("li", { "data-reason": x.code }, x.message)),
        ),
        h(
          "p",
          { class: "muted small" },
          `Reliability score ${pct(r.score, 0)}`,
          r.frontalProbability != null ? ` · frontal chest radiograph ${pct(r.frontalProbability, 0)}` : "",
          r.oodDistance != null ? ` · distance from training films ${r.oodDistance.toFixed(2)}` : "",
        ),
      );
    },
  };
}
