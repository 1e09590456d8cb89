/** Visual question answering: ask, then the answer arrives through studyAnalysisUpdates. */
import { h, replace, uid } from "../../dom.ts";
import type { Api } from "../../api.ts";
import { ASK } from "../../queries.ts";
import { pct } from "../../format.ts";
import { aiBanner, emptyState, errorMessage, notice, statusBadge } from "../../ui.ts";
import type { Analysis } from "../../types.ts";

interface Deps {
  api: Api;
  studyId: string;
  canAsk: boolean;
  onHighlight(regions: string[]): void;
  onAsked(): void;
}

export function vqaPanel(deps: Deps): { el: HTMLElement; update(vqa: Analysis[], imageId: string | null): void } {
  const list = h("ol", { class: "qa-list", "aria-live": "polite" });
  const empty = h("div");
  const status = notice();
  const input = h("input", {
    type: "text",
    name: "question",
    maxlength: "300",
    placeholder: "e.g. Is there a pleural effusion?",
    autocomplete: "off",
  });
  input.id = uid("question");
  const ask = h("button", { type: "submit", class: "btn btn-primary" }, "Ask");
  let imageId: string | null = null;
  const form = h(
    "form",
    { class: "qa-form" },
    h("label", { for: input.id }, "Ask a question about this image"),
    h("div", { class: "inline" }, input, ask),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const question = input.value.trim();
    if (!question) {
      status.show("error", "Type a question first.");
      input.focus();
      return;
    }
    ask.disabled = true;
    status.show("info", "Question sent; the answer appears here when the model has finished.");
    try {
      const res = await deps.api.query(ASK, {
        studyId: deps.studyId,
        question,
        imageId,
        key: crypto.randomUUID(),
      });
      if (res.askQuestion.errors.length) throw new Error(res.askQuestion.errors.map((x) => x.message).join("; "));
      input.value = "";
      deps.onAsked();
    } catch (err) {
      status.show("error", `Question not sent: ${errorMessage(err)}`);
    } finally {
      ask.disabled = false;
    }
  });
  const el = h(
    "section",
    { class: "panel", "aria-labelledby": "vqa-title" },
    h("h2", { id: "vqa-title" }, "Questions"),
    aiBanner(),
    deps.canAsk ? form : h("p", { class: "muted" }, "Your role cannot ask questions."),
    status.el,
    empty,
    list,
  );
  let key = "";
  return {
    el,
    update(vqa, image) {
      imageId = image;
      const next = vqa.map((a) => `${a.id}:${a.status}`).join(",");
      if (next === key) return;
      key = next;
      replace(empty, vqa.length ? null : emptyState("No questions asked yet."));
      if (vqa.some((a) => a.status === "SUCCEEDED" || a.status === "FAILED")) status.clear();
      replace(
        list,
        ...vqa.map((a) => {
          const r = a.result?.__typename === "VqaAnswer" ? a.result : null;
          const regions = r?.regions.map((g) => g.region) ?? [];
          return h(
            "li",
            {
              class: "qa",
              "data-analysis": a.id,
              "data-status": a.status,
              "data-regions": regions.join("|"),
              tabindex: r ? "0" : null,
              onmouseenter: () => deps.onHighlight(regions),
              onmouseleave: () => deps.onHighlight([]),
              onfocus: () => deps.onHighlight(regions),
              onblur: () => deps.onHighlight([]),
            },
            h("p", { class: "qa-q" }, h("span", { class: "muted" }, "Q: "), a.question ?? r?.question ?? "—"),
            r
              ? h(
                  "p",
                  { class: "qa-a", "data-image-based": String(r.imageBased), "data-answered-from": r.answeredFrom },
                  h("span", { class: "muted" }, "A: "),
                  h("strong", { "data-answer": true }, r.answer),
                  h(
                    "span",
                    { class: "muted" },
                    ` · ${pct(r.confidence, 0)} confidence · ${r.answerType}${regions.length ? ` · ${regions.slice(0, 3).join(", ")}` : ""}`,
                  ),
                  // a presence question answered from the classification: it cannot disagree with the finding shown
                  r.answeredFrom === "FINDING"
                    ? h(
                        "span",
                        { class: "badge", "data-testid": "answered-from-finding" },
                        `From the ${r.answeredFromFinding ?? "finding"} result`,
                      )
                    : null,
                  // the model gives a blank image the same answer: it did not come from this film
                  r.imageBased
                    ? null
                    : h(
                        "span",
                        { class: "badge badge-not-image-based", "data-testid": "not-image-based" },
                        "Not based on the image: a blank image gets the same answer",
                      ),
                )
              : a.status === "FAILED" || a.status === "CANCELLED"
                ? h("p", { class: "qa-a error-text" }, `No answer: ${a.errorMessage ?? a.status.toLowerCase()}`)
                : h(
                    "p",
                    { class: "qa-a muted" },
                    h("span", { class: "spinner", "aria-hidden": "true" }),
                    " Waiting for the answer… ",
                    statusBadge(a.status),
                  ),
          );
        }),
      );
    },
  };
}
