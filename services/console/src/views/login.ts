/** Sign-in page: exchanges email and password for a bearer token via the `login` mutation. */
import { h, replace } from "../dom.ts";
import type { Api } from "../api.ts";
import { LOGIN } from "../queries.ts";
import { errorMessage, field } from "../ui.ts";
import type { UserError, Viewer } from "../types.ts";

interface LoginDeps {
  api: Api;
  message: string | null;
  onSignedIn: (token: string, viewer: Viewer) => void;
}

export function renderLogin(root: HTMLElement, deps: LoginDeps): void {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Sign in");
  const status = h("div", { class: "notice", role: "alert", "aria-live": "assertive" });
  if (deps.message) {
    status.className = "notice notice-info";
    status.textContent = deps.message;
  }

  const form = h(
    "form",
    { class: "login-form", "aria-labelledby": "login-title", novalidate: true },
    h("h1", { id: "login-title", tabindex: "-1" }, "Sign in to the GK-MVLP console"),
    h("p", { class: "muted" }, "Chest X-ray AI platform. Use the demo credentials printed by the start command."),
    field("Email", email),
    field("Password", password),
    status,
    submit,
  );

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!email.value.trim() || !password.value) {
      status.className = "notice notice-error";
      status.textContent = "Enter your email and password.";
      (email.value.trim() ? password : email).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Signing in…";
    status.className = "notice";
    status.textContent = "";
    try {
      const data = await deps.api.query<{ login: { token: string | null; viewer: Viewer | null; errors: UserError[] } }>(LOGIN, {
        email: email.value.trim(),
        password: password.value,
      });
      const { token, viewer, errors } = data.login;
      if (errors.length || !token || !viewer) {
        throw new Error(errors.map((e) => e.message).join("; ") || "Sign-in failed.");
      }
      deps.onSignedIn(token, viewer);
    } catch (err) {
      status.className = "notice notice-error";
      status.textContent = errorMessage(err);
      submit.disabled = false;
      submit.textContent = "Sign in";
      password.select();
    }
  });

  replace(root, h("div", { class: "login-page" }, h("main", { id: "main", class: "login-card" }, form)));
  email.focus();
}
