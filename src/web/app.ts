// Boot: one IMClient for the page (IndexedDB store per user, session kept in localStorage), the
// sign-in screen when there is no session, the main view when there is.
import { IMClient, IMHttpError } from "edge-im/client";
import { IndexedDBStore } from "edge-im/client/indexeddb";
import { loadSession, saveSession } from "./saved-session.ts";
import { renderAuth, type AuthMode, type Credentials } from "./views/auth-view.ts";
import { MainView } from "./views/main-view.ts";

/** Readable refusals for the sign-in form. */
function authError(error: unknown, mode: AuthMode): Error {
  if (error instanceof IMHttpError) {
    // Refusals carry their reason in `code` (the HTTP status is 200 so the iOS SDK can read them).
    if (error.code === 401) return new Error("Wrong username or password.");
    if (error.code === 409) return new Error("That username is taken.");
    if (error.code === 429) return new Error("Too many attempts. Please wait a minute.");
    if (error.status === 0) return new Error("Cannot reach the server.");
    return new Error(error.message);
  }
  return new Error(mode === "register" ? "Could not create the account." : "Could not log in.");
}

export class App {
  private readonly root: HTMLElement;
  private readonly client: IMClient;
  private main: MainView | null = null;

  constructor(root: HTMLElement) {
    this.root = root;
    this.client = new IMClient({
      apiUrl: location.origin,
      platform: "web",
      store: (userId) => new IndexedDBStore({ name: `edge-im-${userId}` }),
    });
    this.client.on("session", (session) => {
      saveSession(session);
      // A refused refresh or call ends the session (logout elsewhere, a password change, a ban).
      if (!session && this.main) this.showAuth("Signed out: your session has ended.");
    });
    // Kicked: by a login elsewhere (reason 1), or because the session ended: logout on another
    // device, a password change, an admin's ban (reason 2). Back to the sign-in form, saying why.
    this.client.on("kicked", (info) => void this.kickedOut(info.message));
  }

  start(): void {
    const session = loadSession();
    if (session) {
      this.client.useSession(session);
      this.showMain();
    } else {
      this.showAuth();
    }
  }

  private showAuth(notice = ""): void {
    this.main?.stop();
    this.main = null;
    renderAuth(this.root, (mode, credentials) => this.signIn(mode, credentials), "login", notice);
  }

  private async kickedOut(message: string): Promise<void> {
    this.main?.stop();
    this.main = null;
    await this.client.logout().catch(() => undefined); // the session is over: forget it here too
    history.replaceState(null, "", location.pathname);
    this.showAuth(message ? `Signed out: ${message}` : "Signed out.");
  }

  private async signIn(mode: AuthMode, { username, password, nickname }: Credentials): Promise<void> {
    try {
      if (mode === "register")
        await this.client.register({ username, password, nickname: nickname || username });
      await this.client.login({ username, password });
    } catch (error) {
      throw authError(error, mode);
    }
    this.showMain();
  }

  private showMain(): void {
    const session = this.client.session;
    if (!session) return this.showAuth();
    this.main?.stop();
    this.main = new MainView(this.root, this.client, session.user, () => void this.logout());
    this.main.start();
  }

  private async logout(): Promise<void> {
    this.main?.stop();
    this.main = null;
    await this.client.logout().catch(() => undefined); // forgets the session even when offline
    history.replaceState(null, "", location.pathname);
    this.showAuth();
  }
}
