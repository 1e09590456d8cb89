/**
 * Draft report: each sentence highlights its regions on the image on hover or keyboard focus.
 * Review actions (accept, amend, reject) for radiologists and admins; the gateway audits them.
 */
import { h, replace, uid } from "../../dom.ts";
import type { Api } from "../../api.ts";
import { REVIEW } from "../../queries.ts";
import { dateTime } from "../../format.ts";
import { aiBanner, emptyState, errorMessage, notice, statusBadge } from "../../ui.ts";
import type { AnalysisResult, ReviewAction, UserError } from "../../types.ts";

type Report = Extract<AnalysisResult, { __typename: "Report" }>;

interface Deps {
  api: Api;
  canReview: boolean;
  onHighlight(regions: string[]): void;
  onReviewed(): void;
}

export function reportPanel(deps: Deps): { el: HTMLElement; update(report: Report | null, pending: string): void } {
  const body = h("div");
  const status = notice();
  const el = h(
    "section",
    { class: "panel", "aria-labelledby": "report-title" },
    h("h2", { id: "report-title" }, "Draft report"),
    aiBanner(),
    body,
    status.el,
  );
  let key = "";

  function sentenceEl(s: Report["sentences"][number]): HTMLElement {
    const on = () => {
      deps.onHighlight(s.regions);
      span.classList.add("lit");
    };
    const off = () => {
      deps.onHighlight([]);
      span.classList.remove("lit");
    };
    const why = s.uncertain ? `Uncertain: ${s.uncertainReason ?? "the model cannot vouch for this sentence"}` : null;
    const span = h(
      "span",
      {
        class: s.uncertain ? "sentence sentence-uncertain" : "sentence",
        tabindex: "0",
        "data-sentence": s.index,
        "data-regions": s.regions.join("|"),
        "data-uncertain": String(s.uncertain),
        title: why,
        "aria-label": `${s.text}${s.regions.length ? ` (regions: ${s.regions.join(", ")})` : ""}${why ? `. ${why}` : ""}`,
        onmouseenter: on,
        onmouseleave: off,
        onfocus: on,
        onblur: off,
      },
      s.text,
      s.uncertain ? h("sup", { class: "uncertain-mark", "aria-hidden": "true" }, "?") : null,
    );
    return span;
  }

  function section(title: string, name: string, fallback: string, sentences: Report["sentences"]): HTMLElement {
    const mine = sentences.filter((s) => s.section.toLowerCase() === name).sort((a, b) => a.index - b.index);
    return h(
      "div",
      { class: "report-section" },
      h("h3", null, title),
      h("p", null, mine.length ? mine.flatMap((s) => [sentenceEl(s), " "]) : fallback || "—"),
    );
  }

  function reviewForm(report: Report): HTMLElement {
    const area = h("div", { class: "review-form" });
    const buttons = h("div", { class: "review-buttons", role: "group", "aria-label": "Review actions" });
    const submit = async (action: ReviewAction, amendedText?: string, comment?: string) => {
      for (const b of area.querySelectorAll("button")) b.disabled = true;
      status.show("info", "Saving review…");
      try {
        const res = await deps.api.query<{ reviewReport: { errors: UserError[] } }>(REVIEW, {
          input: { analysisId: report.analysisId, action, amendedText: amendedText || null, comment: comment || null },
        });
        if (res.reviewReport.errors.length) throw new Error(res.reviewReport.errors.map((e) => e.message).join("; "));
        status.show(
          "ok",
          `Report ${action === "ACCEPT" ? "accepted" : action === "AMEND" ? "amended" : "rejected"}. The review is recorded in the audit log.`,
        );
        deps.onReviewed();
      } catch (err) {
        status.show("error", `Review not saved: ${errorMessage(err)}`);
        for (const b of area.querySelectorAll("button")) b.disabled = false;
      }
    };
    const openForm = (action: "AMEND" | "REJECT") => {
      const text = h("textarea", { rows: "6", name: "amendedText" });
      text.value = `Findings: ${report.findingsText}\nImpression: ${report.impression}`;
      const comment = h("textarea", { rows: "2", name: "comment" });
      const textId = uid("amend");
      const commentId = uid("comment");
      text.id = textId;
      comment.id = commentId;
      const form = h(
        "form",
        { class: "review-detail", "aria-label": action === "AMEND" ? "Amend report" : "Reject report" },
        action === "AMEND" ? [h("label", { for: textId }, "Corrected report"), text] : null,
        h("label", { for: commentId }, action === "REJECT" ? "Reason for rejecting" : "Comment (optional)"),
        comment,
        h(
          "div",
          { class: "review-buttons" },
          h(
            "button",
            { type: "submit", class: `btn ${action === "REJECT" ? "btn-danger" : "btn-primary"}` },
            action === "AMEND" ? "Save amendment" : "Confirm reject",
          ),
          h(
            "button",
            {
              type: "button",
              class: "btn btn-quiet",
              onclick: () => {
                replace(area, buttons);
                buttons.querySelector("button")?.focus();
              },
            },
            "Cancel",
          ),
        ),
      );
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        if (action === "AMEND" && !text.value.trim()) {
          status.show("error", "The corrected report cannot be empty.");
          text.focus();
          return;
        }
        if (action === "REJECT" && !comment.value.trim()) {
          status.show("error", "Give a reason for rejecting the report.");
          comment.focus();
          return;
        }
        void submit(action, action === "AMEND" ? text.value.trim() : undefined, comment.value.trim());
      });
      replace(area, form);
      (action === "AMEND" ? text : comment).focus();
    };
    replace(
      buttons,
      h("button", { type: "button", class: "btn btn-primary", onclick: () => void submit("ACCEPT") }, "Accept"),
      h("button", { type: "button", class: "btn", onclick: () => openForm("AMEND") }, "Amend…"),
      h("button", { type: "button", class: "btn btn-danger", onclick: () => openForm("REJECT") }, "Reject…"),
    );
    replace(area, buttons);
    return area;
  }

  return {
    el,
    update(report, pending) {
      const next = report ? `${report.analysisId}:${report.reviews.map((r) => r.id).join(",")}` : `pending:${pending}`;
      if (next === key) return;
      key = next;
      if (!report) {
        replace(body, emptyState(pending));
        return;
      }
      const latest = [...report.reviews].sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
      replace(
        body,
        h(
          "p",
          { class: "review-status" },
          "Review: ",
          report.reviewStatus ? statusBadge(report.reviewStatus) : h("span", { class: "badge" }, "Not reviewed"),
          latest ? h("span", { class: "muted" }, ` by ${latest.reviewer.name}, ${dateTime(latest.createdAt)}`) : null,
        ),
        latest?.action === "AMEND" && latest.amendedText
          ? h("div", { class: "amended" }, h("h3", null, "Amended report (radiologist)"), h("p", { class: "pre" }, latest.amendedText))
          : null,
        section("Findings", "findings", report.findingsText, report.sentences),
        section("Impression", "impression", report.impression, report.sentences),
        report.sentences.some((s) => s.uncertain)
          ? h(
              "p",
              { class: "muted small", "data-testid": "uncertain-legend" },
              h("span", { class: "sentence-uncertain" }, "Underlined sentences"),
              " with a ? are uncertain: hover one for the reason.",
            )
          : null,
        h("p", { class: "muted small" }, `Decoding: ${report.decoding}. Hover or focus a sentence to see its regions on the image.`),
        deps.canReview ? reviewForm(report) : h("p", { class: "muted" }, "Only radiologists and administrators can review reports."),
        report.reviews.length
          ? h(
              "details",
              { class: "review-history" },
              h("summary", null, `Review history (${report.reviews.length})`),
              h(
                "ul",
                null,
                [...report.reviews]
                  .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
                  .map((r) =>
                    h(
                      "li",
                      null,
                      statusBadge(r.action),
                      ` by ${r.reviewer.name} (${r.reviewer.email}), ${dateTime(r.createdAt)}`,
                      r.comment ? h("span", { class: "muted" }, ` — “${r.comment}”`) : null,
                    ),
                  ),
              ),
            )
          : null,
      );
    },
  };
}
