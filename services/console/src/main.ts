/**
 * Console entry: the app shell (header, role-aware navigation, live indicator) and the router
 * that mounts one view at a time and disposes the previous one's subscriptions and timers.
 */
import "./styles.css";
import { h, replace } from "./dom.ts";
import { createApi, type LiveState } from "./api.ts";
import { loadSession, saveSession, clearSession, type Session } from "./session.ts";
import { parseRoute, navigate, href, type Route } from "./router.ts";
import { NAV, canSee, homeView, type ViewName } from "./access.ts";
import { LOGOUT, VIEWER } from "./queries.ts";
import { titleCase } from "./format.ts";
import type { Viewer } from "./types.ts";
import { renderLogin } from "./views/login.ts";
import { renderDashboard } from "./views/dashboard.ts";
import { renderStudies } from "./views/studies.ts";
import { renderStudy } from "./views/study.ts";
import { renderUpload } from "./views/upload.ts";
import { renderModels } from "./views/models.ts";
import { renderAudit } from "./views/audit.ts";
import { renderPacs } from "./views/pacs.ts";
import type { ViewContext, ViewFn } from "./views/context.ts";

const VIEWS: Record<ViewName, ViewFn> = {
  dashboard: renderDashboard,
  studies: renderStudies,
  study: renderStudy,
  upload: renderUpload,
  models: renderModels,
  audit: renderAudit,
  pacs: renderPacs,
};

const app = document.getElementById("app") as HTMLElement;
let session: Session | null = loadSession();
let disposeView: (() => void) | null = null;
let shell: { main: HTMLElement; nav: HTMLElement } | null = null;
let loginMessage: string | null = null;

const api = createApi({
  getToken: () => session?.token ?? null,
  onUnauthenticated: () => signOut("Your session has ended. Please sign in again."),
});

function signIn(token: string, viewer: Viewer): void {
  session = { token, viewer };
  saveSession(session);
  shell = null;
  navigate(href(homeView(viewer.role)), { replace: true });
}

function signOut(message: string | null = null): void {
  if (!session) return;
  session = null;
  clearSession();
  api.dispose();
  shell = null;
  loginMessage = message;
  navigate("#/login", { replace: true });
}

/** Sign out: the gateway revokes the token first (best effort: the session ends here either way). */
async function logOut(): Promise<void> {
  try {
    await api.query(LOGOUT);
  } catch {
    /* already expired or revoked, or the gateway is away: nothing more to revoke from here */
  }
  signOut();
}

let stopLiveIndicator: (() => void) | null = null;

function liveIndicator(): HTMLElement {
  const el = h("span", { class: "live live-offline", role: "status", "aria-live": "polite" }, "Live updates off");
  const labels: Record<LiveState, string> = { live: "Live", connecting: "Connecting…", offline: "Live updates off" };
  stopLiveIndicator?.();
  stopLiveIndicator = api.onLiveState((s) => {
    el.className = `live live-${s}`;
    el.textContent = labels[s];
  });
  return el;
}

function buildShell(s: Session): { main: HTMLElement; nav: HTMLElement } {
  const nav = h("ul", { class: "nav-list" });
  for (const item of NAV) {
    if (!canSee(s.viewer.role, item.view)) continue;
    nav.appendChild(h("li", null, h("a", { href: href(item.view), "data-view": item.view }, item.label)));
  }
  const main = h("main", { id: "main", class: "main" });
  replace(
    app,
    h(
      "a",
      {
        class: "skip-link",
        href: "#main",
        onclick: (e: Event) => {
          e.preventDefault();
          main.querySelector<HTMLElement>("h1")?.focus();
        },
      },
      "Skip to content",
    ),
    h(
      "header",
      { class: "topbar" },
      h("span", { class: "brand" }, "GK-MVLP", h("span", { class: "brand-sub" }, " console")),
      h("nav", { "aria-label": "Main" }, nav),
      h(
        "div",
        { class: "userbox" },
        liveIndicator(),
        h(
          "span",
          { class: "user", "data-role": s.viewer.role },
          h("strong", null, s.viewer.name),
          ` · ${titleCase(s.viewer.role)} · ${s.viewer.tenant.name}`,
        ),
        h("button", { type: "button", class: "btn btn-quiet", onclick: () => void logOut() }, "Sign out"),
      ),
    ),
    main,
  );
  return { main, nav };
}

function markCurrent(nav: HTMLElement, view: string): void {
  const active = view === "study" ? "studies" : view;
  for (const a of nav.querySelectorAll<HTMLAnchorElement>("a[data-view]")) {
    if (a.dataset.view === active) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function render(): void {
  disposeView?.();
  disposeView = null;
  const route: Route = parseRoute(location.hash);
  if (!session) {
    shell = null;
    if (route.view !== "login") history.replaceState(null, "", "#/login");
    document.title = "Sign in · GK-MVLP console";
    renderLogin(app, { api, message: loginMessage, onSignedIn: signIn });
    loginMessage = null;
    return;
  }
  if (route.view === "login" || route.view === "unknown") {
    navigate(href(homeView(session.viewer.role)), { replace: true });
    return;
  }
  if (!shell) {
    shell = buildShell(session);
    api.connect();
  }
  markCurrent(shell.nav, route.view);
  const main = shell.main;
  replace(main);
  const view = route.view;
  const label = view === "study" ? "Study" : (NAV.find((n) => n.view === view)?.label ?? view);
  document.title = `${label} · GK-MVLP console`;
  if (!canSee(session.viewer.role, view)) {
    replace(
      main,
      h("div", { class: "page-header" }, h("h1", { tabindex: "-1" }, `${label} is not available`)),
      h(
        "div",
        { class: "state state-error", role: "alert", "data-testid": "no-access" },
        h("p", { class: "state-title" }, `Your role (${titleCase(session.viewer.role)}) does not have access to ${label}.`),
        h("p", { class: "state-hint" }, h("a", { href: href(homeView(session.viewer.role)) }, "Go to your start page")),
      ),
    );
  } else {
    const ctx: ViewContext = { api, session, route };
    disposeView = VIEWS[view](main, ctx) ?? null;
  }
  main.querySelector<HTMLElement>("h1")?.focus({ preventScroll: true });
}

window.addEventListener("hashchange", render);
render();

// Refresh the profile once per load: the role may have changed since the token was stored.
if (session) {
  api.query(VIEWER).then(
    ({ viewer }) => {
      if (session && (viewer.role !== session.viewer.role || viewer.name !== session.viewer.name)) {
        session = { ...session, viewer };
        saveSession(session);
        shell = null;
        render();
      }
    },
    () => undefined, // an expired token already signs out through onUnauthenticated
  );
}
