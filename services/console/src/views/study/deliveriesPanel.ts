/**
 * Where the study's results went: one row per delivery (DICOM SR to the PACS, HL7 ORU, FHIR push) with its status,
 * when, and the last error; reviewers (RADIOLOGIST, ADMIN) get a "Send to PACS" button. Deliveries are not in the
 * analysis subscription, so the page refetches while one is PENDING (deps.onPending).
 */
import { h, replace } from "../../dom.ts";
import type { Api } from "../../api.ts";
import { SEND_TO_PACS } from "../../queries.ts";
import { dateTime } from "../../format.ts";
import { emptyState, errorMessage, notice, statusBadge, table } from "../../ui.ts";
import type { Delivery } from "../../types.ts";

interface Deps {
  api: Api;
  studyId: string;
  canSend: boolean;
  onSent(): void;
}

const KIND: Record<Delivery["kind"], string> = { SR: "DICOM SR → PACS", HL7: "HL7 ORU → RIS", FHIR: "FHIR push" };
const TRIGGER: Record<Delivery["trigger"], string> = { COMPLETION: "on completion", SIGN_OFF: "on sign-off", MANUAL: "sent by hand" };

export function deliveriesPanel(deps: Deps): { el: HTMLElement; update(deliveries: Delivery[], analysed: boolean): void } {
  const body = h("div");
  const status = notice();
  const send = h("button", { type: "button", class: "btn", "data-testid": "send-to-pacs" }, "Send to PACS");
  send.addEventListener("click", async () => {
    send.disabled = true;
    status.show("info", "Sending the SR to the PACS…");
    try {
      const res = await deps.api.query(SEND_TO_PACS, { studyId: deps.studyId });
      if (res.sendToPacs.errors.length) throw new Error(res.sendToPacs.errors.map((e) => e.message).join("; "));
      status.show("ok", "Queued for the PACS; the status below follows.");
      deps.onSent();
    } catch (err) {
      status.show("error", `Not sent: ${errorMessage(err)}`);
    } finally {
      send.disabled = false;
    }
  });
  const el = h(
    "section",
    { class: "panel", "aria-labelledby": "deliveries-title", "data-testid": "deliveries" },
    h("h2", { id: "deliveries-title" }, "Sent to the hospital"),
    deps.canSend ? h("div", { class: "inline" }, send) : null,
    status.el,
    body,
  );
  return {
    el,
    update(deliveries, analysed) {
      send.hidden = !analysed;
      if (!deliveries.length) {
        replace(body, emptyState("Nothing sent yet.", analysed ? undefined : "Results are sent once the study is analysed."));
        return;
      }
      replace(
        body,
        table(
          "Deliveries of this study",
          ["What", "Status", "When", "Detail"],
          deliveries.map((d) =>
            h(
              "tr",
              { "data-delivery": d.id, "data-kind": d.kind, "data-status": d.status },
              h("td", null, KIND[d.kind], h("span", { class: "muted small" }, ` ${TRIGGER[d.trigger]}`)),
              h("td", null, statusBadge(d.status), d.attempts > 1 ? h("span", { class: "muted small" }, ` ${d.attempts} attempts`) : null),
              h("td", null, dateTime(d.sentAt ?? d.createdAt)),
              h(
                "td",
                // UIDs are long unbroken digit strings: let them wrap inside the panel
                { class: d.lastError ? "error-text delivery-detail" : "muted small delivery-detail" },
                d.lastError
                  ? `${d.lastError.code}: ${d.lastError.message}${d.status === "PENDING" && d.nextAttemptAt ? ` (retry ${dateTime(d.nextAttemptAt)})` : ""}`
                  : (d.sentId ?? ""),
              ),
            ),
          ),
          { captionHidden: true },
        ),
      );
    },
  };
}
