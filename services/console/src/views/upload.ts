/**
 * Upload: drop or pick a PNG, JPEG or DICOM file. The file is uploaded first, so a rejected file
 * leaves no empty patient or study behind; then patient (reused when the MRN exists) → study →
 * attachImage → requestAnalyses for all four tasks, and the study page opens to watch results.
 */
import { h, replace, uid } from "../dom.ts";
import { ApiError } from "../api.ts";
import { ATTACH_IMAGE, CREATE_PATIENT, CREATE_STUDY, FIND_PATIENT, REQUEST_ANALYSES } from "../queries.ts";
import { href, navigate } from "../router.ts";
import { errorMessage, field, pageHeader } from "../ui.ts";
import { ALL_TASKS, type UserError } from "../types.ts";
import type { ViewFn } from "./context.ts";
import type { Api } from "../api.ts";

const ACCEPT = ".png,.jpg,.jpeg,.dcm,.dicom,image/png,image/jpeg,application/dicom";
const STEPS = ["Upload file", "Register patient", "Create study", "Attach image", "Request analyses"] as const;
const DEFAULT_QUESTION = "Is there a pleural effusion?";

export const renderUpload: ViewFn = (root, { api }) => {
  let file: File | null = null;
  const picker = h("input", { type: "file", accept: ACCEPT, class: "visually-hidden", "data-testid": "file-input" });
  picker.id = uid("file");
  const chosen = h("p", { class: "drop-file", "aria-live": "polite" }, "No file chosen");
  const zone = h(
    "div",
    { class: "dropzone", "data-testid": "dropzone" },
    h("p", { class: "drop-title" }, "Drop a chest X-ray here"),
    h("p", { class: "muted" }, "PNG, JPEG or DICOM (.dcm)"),
    h(
      "label",
      {
        for: picker.id,
        class: "btn",
        tabindex: "0",
        role: "button",
        onkeydown: (e: KeyboardEvent) => {
          if (e.key === "Enter" || e.key === " ") {
            e.preventDefault();
            picker.click();
          }
        },
      },
      "Choose file…",
    ),
    picker,
    chosen,
  );
  const setFile = (f: File | null) => {
    file = f;
    chosen.textContent = f ? `${f.name} (${(f.size / 1024).toFixed(0)} KB)` : "No file chosen";
    zone.classList.toggle("has-file", !!f);
  };
  picker.addEventListener("change", () => setFile(picker.files?.[0] ?? null));
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("drag");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("drag"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("drag");
    setFile(e.dataTransfer?.files[0] ?? null);
  });

  const mrn = h("input", { name: "mrn", required: true, autocomplete: "off" });
  const patientName = h("input", { name: "patientName", autocomplete: "off" });
  const accession = h("input", { name: "accession", autocomplete: "off" });
  const description = h("input", { name: "description", value: "Chest X-ray", autocomplete: "off" });
  const question = h("input", { name: "question", value: DEFAULT_QUESTION, autocomplete: "off" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Upload and analyse");
  const steps = h("ol", { class: "steps", "aria-label": "Progress" });
  const message = h("div", { class: "notice", role: "status", "aria-live": "polite" });

  const form = h(
    "form",
    { class: "upload-form", "aria-label": "Upload a study", novalidate: true },
    zone,
    h(
      "div",
      { class: "upload-fields" },
      field("Patient MRN (required)", mrn, "The hospital identifier; an existing patient is reused."),
      field("Patient name", patientName),
      field("Accession number", accession),
      field("Description", description),
      field("Question for visual question answering", question),
      submit,
    ),
    h("div", { class: "upload-progress" }, steps, message),
  );
  replace(
    root,
    pageHeader("Upload a study"),
    h("p", { class: "muted" }, "The image is stored, a study is created and classification, localization, report and VQA are requested."),
    form,
  );

  const showError = (text: string) => {
    message.className = "notice notice-error";
    message.setAttribute("role", "alert");
    message.textContent = text;
  };

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!file) {
      showError("Choose or drop an image file first.");
      picker.focus();
      return;
    }
    if (!mrn.value.trim()) {
      showError("Enter the patient MRN.");
      mrn.focus();
      return;
    }
    submit.disabled = true;
    message.className = "notice";
    message.textContent = "";
    const marks = STEPS.map((s) => h("li", { class: "step" }, s));
    replace(steps, ...marks);
    let current = 0;
    const step = async <T>(i: number, run: () => Promise<T>): Promise<T> => {
      current = i;
      (marks[i] as HTMLElement).className = "step step-active";
      const out = await run();
      (marks[i] as HTMLElement).className = "step step-done";
      return out;
    };
    try {
      const f = file;
      const uploaded = await step(0, () => api.upload(f));
      const patientId = await step(1, () => ensurePatient(api, mrn.value.trim(), patientName.value.trim()));
      const studyId = await step(2, async () => {
        const r = await api.query<{ createStudy: { study: { id: string } | null; errors: UserError[] } }>(CREATE_STUDY, {
          input: {
            patientId,
            accessionNumber: accession.value.trim() || null,
            description: description.value.trim() || null,
            studyDate: new Date().toISOString(),
          },
        });
        return must(r.createStudy.errors, r.createStudy.study).id;
      });
      const imageId = await step(3, async () => {
        const r = await api.query<{ attachImage: { image: { id: string } | null; errors: UserError[] } }>(ATTACH_IMAGE, {
          input: { studyId, uploadId: uploaded.uploadId },
        });
        return must(r.attachImage.errors, r.attachImage.image).id;
      });
      await step(4, async () => {
        const r = await api.query<{ requestAnalyses: { errors: UserError[] } }>(REQUEST_ANALYSES, {
          input: {
            studyId,
            imageId,
            tasks: ALL_TASKS,
            question: question.value.trim() || DEFAULT_QUESTION,
            idempotencyKey: `console-${studyId}-${imageId}`,
          },
        });
        must(r.requestAnalyses.errors, true);
      });
      message.className = "notice notice-ok";
      message.textContent = "Uploaded. Opening the study…";
      navigate(href("study", studyId));
    } catch (err) {
      (marks[current] as HTMLElement).className = "step step-failed";
      const where = STEPS[current] ?? "Upload";
      showError(`${where} failed: ${errorMessage(err)}`);
      submit.disabled = false;
      if (err instanceof ApiError && err.kind === "unauthenticated") return;
    }
  });
};

function must<T>(errors: UserError[], value: T | null): T {
  if (errors.length) throw new Error(errors.map((e) => e.message).join("; "));
  if (value === null) throw new Error("The server returned nothing.");
  return value;
}

async function ensurePatient(api: Api, externalId: string, displayName: string): Promise<string> {
  const r = await api.query<{ createPatient: { patient: { id: string } | null; errors: UserError[] } }>(CREATE_PATIENT, {
    input: { externalId, displayName: displayName || null },
  });
  if (r.createPatient.patient) return r.createPatient.patient.id;
  if (r.createPatient.errors.some((e) => e.code === "CONFLICT")) {
    const found = await api.query<{ patients: { edges: { node: { id: string; externalId: string } }[] } }>(FIND_PATIENT, {
      search: externalId,
    });
    const match = found.patients.edges.find((e) => e.node.externalId === externalId);
    if (match) return match.node.id;
  }
  return must(r.createPatient.errors, null as { id: string } | null).id;
}
