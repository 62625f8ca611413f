// The admin page (`/admin`, built as admin.html): nothing but the credential form until the server
// accepts the credential; then the counts, a user lookup with ban and unban, message removal and a
// broadcast.
// The credential lives in this tab's sessionStorage only (closed with the tab, never in a cookie).
import { h, replace } from "../dom.ts";
import { AdminApi, type AdminUser } from "./admin-api.ts";

const CREDENTIAL_KEY = "edge-im-admin-credential";

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A form whose submit runs `action`, showing its outcome (or refusal) in the form's status line. */
function actionForm(
  label: string,
  fields: HTMLElement[],
  button: string,
  action: () => Promise<string>,
): HTMLFormElement {
  const status = h("p", { class: "muted admin-status", role: "status" });
  const submit = h("button", { class: "primary", type: "submit" }, button);
  return h(
    "form",
    {
      class: "admin-card",
      "aria-label": label,
      onsubmit: (event: SubmitEvent) => {
        event.preventDefault();
        submit.disabled = true;
        status.textContent = "…";
        action()
          .then((done) => (status.textContent = done))
          .catch((error: unknown) => (status.textContent = errorText(error)))
          .finally(() => (submit.disabled = false));
      },
    },
    h("h2", null, label),
    ...fields,
    submit,
    status,
  );
}

export class AdminPage {
  constructor(private readonly root: HTMLElement) {}

  start(): void {
    const saved = sessionStorage.getItem(CREDENTIAL_KEY);
    if (saved) void this.open(new AdminApi(saved), saved);
    else this.showCredentialForm();
  }

  private showCredentialForm(message = ""): void {
    const credential = h("input", {
      name: "credential",
      type: "password",
      required: true,
      autocomplete: "off",
    });
    const error = h("p", { class: "form-error", role: "alert" }, message);
    const form = h(
      "form",
      {
        class: "auth-card",
        "aria-label": "Admin credential",
        onsubmit: (event: SubmitEvent) => {
          event.preventDefault();
          void this.open(new AdminApi(credential.value), credential.value);
        },
      },
      h("div", { class: "brand" }, h("span", { class: "brand-mark" }, "✦"), "Edge IM admin"),
      h("label", null, "Admin credential (ADMIN_TOKEN)", credential),
      error,
      h("button", { class: "primary wide", type: "submit" }, "Open"),
    );
    replace(this.root, h("div", { class: "auth-screen" }, form));
    credential.focus();
  }

  /** Shows the page once the server accepts the credential (the counts are the first call). */
  private async open(api: AdminApi, credential: string): Promise<void> {
    let stats;
    try {
      stats = await api.stats();
    } catch (error) {
      sessionStorage.removeItem(CREDENTIAL_KEY);
      return this.showCredentialForm(errorText(error));
    }
    sessionStorage.setItem(CREDENTIAL_KEY, credential);
    const counts = h(
      "p",
      { class: "admin-counts", "aria-label": "Counts" },
      `${stats.users} users, ${stats.bannedUsers} banned, ${stats.messagesToday} messages today, ${stats.liveSockets ?? "?"} live sockets`,
    );
    replace(
      this.root,
      h(
        "main",
        { class: "admin-page" },
        h(
          "header",
          { class: "admin-header" },
          h("h1", null, "Edge IM admin"),
          h(
            "button",
            {
              type: "button",
              class: "link",
              onclick: () => {
                sessionStorage.removeItem(CREDENTIAL_KEY);
                this.showCredentialForm();
              },
            },
            "Close",
          ),
        ),
        counts,
        this.userForm(api),
        this.removeForm(api),
        this.broadcastForm(api),
      ),
    );
  }

  private userForm(api: AdminApi): HTMLElement {
    const username = h("input", { name: "username", required: true, autocapitalize: "none" });
    const reason = h("input", {
      name: "reason",
      maxlength: 500,
      placeholder: "reason (kept in the audit log)",
    });
    const found = h("div", { class: "admin-user", "aria-live": "polite" });
    const show = (user: AdminUser) => {
      const toggle = h(
        "button",
        {
          type: "button",
          class: user.status === "banned" ? "" : "danger",
          onclick: async () => {
            toggle.disabled = true;
            try {
              if (user.status === "banned") await api.unban(user.user.userID);
              else await api.ban(user.user.userID, reason.value.trim());
              show(await api.findUser(user.username));
            } catch (error) {
              replace(found, errorText(error));
            }
          },
        },
        user.status === "banned" ? "Unban" : "Ban",
      );
      replace(
        found,
        h(
          "span",
          null,
          `${user.username} (${user.user.userID}): ${user.status}, ${user.openSessions} open sessions `,
        ),
        toggle,
      );
    };
    return actionForm(
      "Find a user",
      [h("label", null, "Username", username), reason, found],
      "Find",
      async () => {
        show(await api.findUser(username.value.trim()));
        return "";
      },
    );
  }

  private removeForm(api: AdminApi): HTMLElement {
    const conversation = h("input", {
      name: "conversationID",
      required: true,
      placeholder: "single_… or group_…",
    });
    const seq = h("input", { name: "seq", type: "number", min: 1, required: true });
    return actionForm(
      "Remove a message",
      [h("label", null, "Conversation", conversation), h("label", null, "Seq", seq)],
      "Remove",
      async () => {
        await api.removeMessage(conversation.value.trim(), Number(seq.value));
        return "Removed: every member's devices show it as revoked by an admin.";
      },
    );
  }

  private broadcastForm(api: AdminApi): HTMLElement {
    const text = h("textarea", { name: "text", required: true, maxlength: 4000, rows: 3 });
    return actionForm(
      "Broadcast a system message",
      [h("label", null, "Text", text)],
      "Send to everyone",
      async () => {
        let sent = 0;
        const failed: string[] = [];
        let after: string | undefined;
        do {
          const page = await api.broadcast(text.value, after);
          sent += page.sent;
          failed.push(...page.failed);
          after = page.next ?? undefined;
        } while (after);
        return failed.length > 0
          ? `Sent to ${sent}; failed for ${failed.join(", ")}`
          : `Sent to ${sent} users.`;
      },
    );
  }
}
