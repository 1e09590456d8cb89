/**
 * Study page: image viewer with overlays, findings, draft report with sentence→region
 * highlighting, VQA and review. Results arrive through studyAnalysisUpdates: every update
 * triggers a refetch of the study, so the page never needs reloading.
 */
import { h, replace } from "../dom.ts";
import { RETRY, STUDY, STUDY_UPDATES } from "../queries.ts";
import { dateOnly, ms, taskName } from "../format.ts";
import { canAsk, canReview } from "../access.ts";
import { href } from "../router.ts";
import { debounce, emptyState, errorMessage, errorState, loading, notice, pageHeader, statusBadge } from "../ui.ts";
import { ALL_TASKS, type Analysis, type AnalysisTask, type StudyDetail } from "../types.ts";
import { ImageViewer } from "../viewer/imageViewer.ts";
import { viewerControls } from "../viewer/controls.ts";
import { latestByTask, latestReliability, latestResult, positiveFindingBoxes, vqaAnalyses } from "./study/latest.ts";
import { findingsPanel } from "./study/findingsPanel.ts";
import { reliabilityBanner } from "./study/reliabilityBanner.ts";
import { reportPanel } from "./study/reportPanel.ts";
import { vqaPanel } from "./study/vqaPanel.ts";
import { deliveriesPanel } from "./study/deliveriesPanel.ts";
import type { ViewContext, ViewFn } from "./context.ts";

export const renderStudy: ViewFn = (root, ctx) => {
  const id = ctx.route.params.id as string;
  replace(root, pageHeader("Study"), loading("the study"));
  let stopped = false;
  let page: StudyPage | null = null;

  async function load(): Promise<void> {
    try {
      const { study } = await ctx.api.query(STUDY, { id });
      if (stopped) return;
      if (!study) {
        replace(
          root,
          pageHeader("Study not found"),
          emptyState("This study does not exist or belongs to another tenant.", h("a", { href: href("studies") }, "Back to studies")),
        );
        return;
      }
      page ??= new StudyPage(root, ctx, study, () => refetch());
      page.update(study);
    } catch (err) {
      if (stopped) return;
      if (page) page.showRefreshError(err);
      else
        replace(
          root,
          pageHeader("Study"),
          errorState("the study", err, () => void load()),
        );
    }
  }
  const refetch = debounce(() => void load(), 250);
  const unsubscribe = ctx.api.subscribe(
    STUDY_UPDATES,
    { studyId: id },
    () => refetch(),
    (err) => page?.showRefreshError(err),
  );
  const offReconnect = ctx.api.onReconnect(() => refetch());
  void load();
  return () => {
    stopped = true;
    refetch.cancel();
    unsubscribe();
    offReconnect();
    page?.dispose();
  };
};

class StudyPage {
  private viewer: ImageViewer;
  private controls: ReturnType<typeof viewerControls>;
  private strip = h("ul", { class: "task-strip", "aria-label": "Analyses" });
  private findings: ReturnType<typeof findingsPanel>;
  private report: ReturnType<typeof reportPanel>;
  private vqa: ReturnType<typeof vqaPanel>;
  private deliveries: ReturnType<typeof deliveriesPanel>;
  // deliveries are not announced by the analysis subscription: look again while one is on its way
  private deliveryPoll: ReturnType<typeof setTimeout> | null = null;
  private viewerState = h("div", { class: "viewer-state" });
  private provenance = h("p", { class: "muted small provenance" });
  private statusSlot = h("span", { "data-testid": "study-status" });
  private refreshNotice = notice();
  private reliability = reliabilityBanner();
  private imageId: string | null = null;

  constructor(
    root: HTMLElement,
    private readonly ctx: ViewContext,
    study: StudyDetail,
    private readonly refetch: () => void,
  ) {
    const role = ctx.session.viewer.role;
    const highlight = (regions: string[]) => this.viewer.setHighlight(regions);
    this.viewer = new ImageViewer(`Chest X-ray for patient ${study.patient.externalId}`);
    this.controls = viewerControls(this.viewer);
    this.findings = findingsPanel(highlight);
    this.report = reportPanel({ api: ctx.api, canReview: canReview(role), onHighlight: highlight, onReviewed: refetch });
    this.vqa = vqaPanel({ api: ctx.api, studyId: study.id, canAsk: canAsk(role), onHighlight: highlight, onAsked: refetch });
    this.deliveries = deliveriesPanel({ api: ctx.api, studyId: study.id, canSend: canReview(role), onSent: refetch });
    const p = study.patient;
    replace(
      root,
      pageHeader(`Study ${study.accessionNumber ?? study.id}`, this.statusSlot),
      h(
        "p",
        { class: "study-meta" },
        h("span", null, h("strong", null, "Patient "), p.externalId, p.displayName ? ` (${p.displayName})` : ""),
        p.birthYear ? h("span", null, `born ${p.birthYear}`) : null,
        p.sex ? h("span", null, p.sex) : null,
        h("span", null, `${study.modality} · ${dateOnly(study.studyDate ?? study.createdAt)}`),
        study.description ? h("span", null, study.description) : null,
        // where the study came from: a PACS-sent study names the modality/PACS that sent it
        h(
          "span",
          { "data-testid": "study-source" },
          study.source === "PACS" ? (study.sourceAeTitle ? `From PACS (${study.sourceAeTitle})` : "From PACS (STOW-RS)") : "Uploaded",
        ),
      ),
      this.strip,
      this.reliability.el,
      this.refreshNotice.el,
      h(
        "div",
        { class: "study-grid" },
        h(
          "section",
          { class: "viewer-col", "aria-label": "Image viewer" },
          this.controls.el,
          h("div", { class: "viewer-frame" }, this.viewer.canvas, this.viewerState),
          this.viewer.caption,
          this.provenance,
          h(
            "p",
            { class: "muted small" },
            "Drag to pan, wheel to zoom, right-drag (or Shift+drag) for window/level. With the image focused: + − 0 and arrow keys.",
          ),
        ),
        h("div", { class: "side-col" }, this.findings.el, this.report.el, this.vqa.el, this.deliveries.el),
      ),
    );
  }

  update(study: StudyDetail): void {
    this.refreshNotice.clear();
    replace(this.statusSlot, statusBadge(study.status));
    this.renderStrip(study.analyses);
    const image = study.images[0];
    if (!image) {
      replace(this.viewerState, emptyState("This study has no image yet.", h("a", { href: href("upload") }, "Upload one")));
    } else if (image.id !== this.imageId) {
      this.imageId = image.id;
      replace(this.viewerState, loading("the image"));
      this.ctx.api
        .fetchImage(image.url)
        .then((blob) => this.viewer.setImage(blob))
        .then(
          () => {
            replace(this.viewerState);
            this.viewer.canvas.dataset.image = image.id;
            this.controls.sync();
          },
          (err) =>
            replace(
              this.viewerState,
              errorState("the image", err, () => {
                this.imageId = null;
                this.refetch();
              }),
            ),
        );
    }
    const latest = latestByTask(study.analyses);
    const pendingText = (task: AnalysisTask, what: string) => {
      const a = latest.get(task);
      if (!a) return `No ${what} has been requested for this study.`;
      if (a.status === "FAILED") return `The ${what} failed: ${a.errorMessage ?? "no reason given"}.`;
      if (a.status === "CANCELLED") return `The ${what} was cancelled.`;
      return `Waiting for the ${what} (${a.status.toLowerCase()})…`;
    };
    const loc = latestResult(study.analyses, "LocalizationResult");
    const findings = latestResult(study.analyses, "ClassificationResult")?.findings ?? null;
    const reliability = latestReliability(study.analyses);
    this.reliability.update(reliability);
    // an abstaining model found nothing: no finding is drawn as positive either
    const drawable = reliability?.level === "ABSTAIN" ? (findings ?? []).map((f) => ({ ...f, positive: false })) : findings;
    this.viewer.setOverlays(loc ? { ...loc, boxes: positiveFindingBoxes(loc.boxes, drawable) } : { boxes: [], heatmaps: [], regions: [] });
    this.controls.setOverlays(loc, pendingText("LOCALIZATION", "localization"));
    this.findings.update(findings, pendingText("CLASSIFICATION", "classification"), reliability?.level ?? null);
    this.report.update(latestResult(study.analyses, "Report"), pendingText("REPORT", "report"));
    this.vqa.update(vqaAnalyses(study.analyses), image?.id ?? null);
    this.deliveries.update(study.deliveries, latest.get("CLASSIFICATION")?.status === "SUCCEEDED");
    if (this.deliveryPoll) clearTimeout(this.deliveryPoll);
    this.deliveryPoll = study.deliveries.some((d) => d.status === "PENDING") ? setTimeout(() => this.refetch(), 1500) : null;
  }

  showRefreshError(err: unknown): void {
    this.refreshNotice.show("error", `Live update problem: ${errorMessage(err)}. The page shows the last data received.`);
  }

  dispose(): void {
    if (this.deliveryPoll) clearTimeout(this.deliveryPoll);
    this.viewer.dispose();
  }

  private renderStrip(analyses: Analysis[]): void {
    const latest = latestByTask(analyses);
    const mayRetry = this.ctx.session.viewer.role !== "AUDITOR";
    replace(
      this.strip,
      ...ALL_TASKS.map((task) => {
        const a = latest.get(task);
        return h(
          "li",
          { class: "task-chip", "data-task": task, "data-status": a?.status ?? "NONE" },
          h("span", { class: "task-name" }, taskName(task)),
          " ",
          a ? statusBadge(a.status) : h("span", { class: "badge" }, "Not requested"),
          a?.durationMs != null ? h("span", { class: "muted" }, ` ${ms(a.durationMs)}`) : null,
          a?.status === "FAILED" && mayRetry
            ? h("button", { type: "button", class: "btn btn-small", onclick: () => void this.retry(a) }, "Retry")
            : null,
        );
      }),
    );
    const models = new Map<string, NonNullable<Analysis["model"]>>();
    for (const a of latest.values()) if (a.model) models.set(a.model.bundleSha256, a.model);
    replace(
      this.provenance,
      models.size
        ? `Results by ${[...models.values()].map((m) => `${m.name} ${m.version} (bundle ${m.bundleSha256.slice(0, 12)})`).join(", ")}`
        : "",
    );
  }

  private async retry(a: Analysis): Promise<void> {
    try {
      const res = await this.ctx.api.query(RETRY, { id: a.id });
      if (res.retryAnalysis.errors.length) throw new Error(res.retryAnalysis.errors.map((e) => e.message).join("; "));
      this.refreshNotice.show("info", `${taskName(a.task)} queued again.`);
      this.refetch();
    } catch (err) {
      this.refreshNotice.show("error", `Retry failed: ${errorMessage(err)}`);
    }
  }
}
