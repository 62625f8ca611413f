// The sign-in screen: log in or create an account, with the server's refusal shown in the form.
import { h, replace } from "../dom.ts";

export interface Credentials {
  username: string;
  password: string;
  nickname: string;
}

export type AuthMode = "login" | "register";

/** Renders the form into `root`; `submit` resolves once signed in or rejects with a message to show. */
export function renderAuth(
  root: HTMLElement,
  submit: (mode: AuthMode, credentials: Credentials) => Promise<void>,
  mode: AuthMode = "login",
  /** Why the form is shown (a session that ended), until the next submit. */
  notice = "",
): void {
  const registering = mode === "register";
  const error = h("p", { class: "form-error", role: "alert" }, notice);
  const username = h("input", {
    name: "username",
    autocomplete: "username",
    required: true,
    minlength: 3,
    maxlength: 32,
    pattern: "[A-Za-z0-9._\\-]+",
    title: "3–32 letters, digits, dots, dashes or underscores",
    autocapitalize: "none",
    spellcheck: "false",
  });
  const nickname = h("input", { name: "nickname", autocomplete: "nickname", maxlength: 64 });
  const password = h("input", {
    name: "password",
    type: "password",
    required: true,
    minlength: 6,
    autocomplete: registering ? "new-password" : "current-password",
  });
  const button = h(
    "button",
    { class: "primary wide", type: "submit" },
    registering ? "Create account" : "Log in",
  );
  const form = h(
    "form",
    {
      class: "auth-card",
      "aria-label": registering ? "Create an account" : "Log in",
      onsubmit: (event: SubmitEvent) => {
        event.preventDefault();
        error.textContent = "";
        button.disabled = true;
        submit(mode, {
          username: username.value.trim(),
          password: password.value,
          nickname: nickname.value.trim(),
        })
          .catch((e: unknown) => {
            error.textContent = e instanceof Error ? e.message : String(e);
          })
          .finally(() => {
            button.disabled = false;
          });
      },
    },
    h("div", { class: "brand" }, h("span", { class: "brand-mark" }, "✦"), "Edge IM"),
    h("p", { class: "muted" }, registering ? "Create an account to start chatting." : "Welcome back."),
    h("label", null, "Username", username),
    registering &&
      h("label", null, h("span", null, "Display name ", h("small", null, "(optional)")), nickname),
    h("label", null, "Password", password),
    error,
    button,
    h(
      "p",
      { class: "switch" },
      registering ? "Already have an account? " : "New here? ",
      h(
        "button",
        {
          type: "button",
          class: "link",
          onclick: () => renderAuth(root, submit, registering ? "login" : "register"),
        },
        registering ? "Log in" : "Create an account",
      ),
    ),
  );
  replace(root, h("div", { class: "auth-screen" }, form));
  username.focus();
}
