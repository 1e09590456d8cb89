/** Toolbar for the image viewer: zoom buttons, window/level sliders and overlay toggles. */
import { h, replace, uid } from "../dom.ts";
import type { ImageViewer, Overlays } from "./imageViewer.ts";

export interface ViewerControls {
  el: HTMLElement;
  setOverlays(o: Overlays | null, pendingText: string): void;
  sync(): void;
}

export function viewerControls(v: ImageViewer): ViewerControls {
  const zoomText = h("output", { class: "zoom-text", "aria-live": "off" }, "100%");
  const level = h("input", { type: "range", min: "0", max: "255", step: "1", value: "128" });
  const win = h("input", { type: "range", min: "2", max: "512", step: "1", value: "256" });
  level.id = uid("level");
  win.id = uid("window");
  level.addEventListener("input", () => v.setWindow(Number(level.value), Number(win.value)));
  win.addEventListener("input", () => v.setWindow(Number(level.value), Number(win.value)));

  const toggle = (name: keyof ImageViewer["toggles"], label: string) => {
    const box = h("input", { type: "checkbox", name, "data-toggle": name });
    box.checked = v.toggles[name];
    box.addEventListener("change", () => {
      v.toggles[name] = box.checked;
      v.requestDraw();
    });
    return { box, el: h("label", { class: "toggle" }, box, ` ${label}`) };
  };
  const boxes = toggle("boxes", "Finding boxes");
  const heat = toggle("heatmap", "Heatmap");
  const regions = toggle("regions", "Anatomical regions");
  const heatLabel = h("select", { "aria-label": "Heatmap finding", name: "heatmap-label" });
  heatLabel.addEventListener("change", () => {
    v.heatmapLabel = heatLabel.value;
    if (!heat.box.checked) {
      heat.box.checked = true;
      v.toggles.heatmap = true;
    }
    v.requestDraw();
  });
  const pending = h("span", { class: "muted overlay-pending" });

  const el = h(
    "div",
    { class: "viewer-toolbar", role: "toolbar", "aria-label": "Image viewer controls" },
    h(
      "div",
      { class: "tool-group" },
      h("button", { type: "button", class: "btn btn-icon", "aria-label": "Zoom out", onclick: () => v.zoomBy(0.8) }, "−"),
      zoomText,
      h("button", { type: "button", class: "btn btn-icon", "aria-label": "Zoom in", onclick: () => v.zoomBy(1.25) }, "+"),
      h("button", { type: "button", class: "btn", onclick: () => v.reset() }, "Reset view"),
    ),
    h("div", { class: "tool-group" }, h("label", { for: level.id }, "Level"), level, h("label", { for: win.id }, "Window"), win),
    h("div", { class: "tool-group", role: "group", "aria-label": "Overlays" }, boxes.el, heat.el, heatLabel, regions.el, pending),
  );

  const sync = () => {
    zoomText.value = `${Math.round(v.zoomLevel * 100)}%`;
    const wl = v.windowLevel;
    level.value = String(Math.round(wl.center));
    win.value = String(Math.round(wl.width));
  };
  v.onChange = sync;

  return {
    el,
    sync,
    setOverlays(o, pendingText) {
      const has = !!o;
      for (const t of [boxes, heat, regions]) t.box.disabled = !has;
      heatLabel.disabled = !has || o.heatmaps.length === 0;
      pending.textContent = has ? "" : pendingText;
      const current = v.heatmapLabel;
      replace(
        heatLabel,
        ...(o?.heatmaps ?? []).map((m) => {
          const opt = h("option", { value: m.label }, m.label);
          if (m.label === current) opt.selected = true;
          return opt;
        }),
      );
      if (o && o.heatmaps.length === 0) heatLabel.appendChild(h("option", { value: "" }, "no heatmaps"));
    },
  };
}
