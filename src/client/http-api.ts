// The HTTP half of the SDK: register, login, single-flight refresh, logout, user look-ups and search,
// the session, file uploads, and the authenticated `request` the friend, group and conversation
// calls go through.
import { IMHttpError } from "./errors.ts";
import { readUploadAnswer, UPLOAD_TIMEOUT_MS, type UploadedFile } from "./files.ts";
import { readEnvelope, readSession, readUser, readUsers } from "./json-shapes.ts";
import type { Session, User } from "./types.ts";

export interface ApiClientOptions {
  /** e.g. `https://im.example.com`, without a trailing slash. */
  apiUrl: string;
  /** Per request, in ms. */
  timeoutMs: number;
  fetch: typeof fetch;
  /** Called whenever the session changes (login, refresh, logout). */
  onSession: (session: Session | null) => void;
}

export interface RegisterInput {
  username: string;
  password: string;
  nickname?: string;
}

export interface LoginInput {
  username: string;
  password: string;
  /** e.g. "web", "iOS"; at most one live socket per (user, platform). */
  platform?: string;
}

/** A token this close to expiry is refreshed before it is used, in ms. */
export const TOKEN_REFRESH_MARGIN_MS = 60_000;

export type Method = "GET" | "POST" | "DELETE";

export class ApiClient {
  private current: Session | null = null;
  private refreshing: Promise<Session> | null = null;
  private readonly options: ApiClientOptions;

  constructor(options: ApiClientOptions) {
    this.options = { ...options, apiUrl: options.apiUrl.replace(/\/+$/, "") };
  }

  get session(): Session | null {
    return this.current;
  }

  /** Adopts a session saved earlier (for example from the `session` event). */
  setSession(session: Session | null): void {
    this.current = session;
    this.options.onSession(session);
  }

  register(input: RegisterInput): Promise<User> {
    return this.call("POST", "/api/auth/register", input, false).then(readUser);
  }

  async login(input: LoginInput): Promise<Session> {
    const session = readSession(await this.call("POST", "/api/auth/login", input, false));
    this.setSession(session);
    return session;
  }

  /**
   * Exchanges the refresh token for a new session. Concurrent callers share one request: refresh
   * tokens rotate, and spending one twice would revoke the whole session.
   */
  refresh(): Promise<Session> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Revokes the refresh token (or all of the user's with `all`) and forgets the session. */
  async logout(options: { all?: boolean } = {}): Promise<void> {
    const session = this.current;
    if (!session) return;
    try {
      await this.call(
        "POST",
        "/api/auth/logout",
        { refreshToken: session.refreshToken, all: options.all },
        true,
      );
    } finally {
      this.setSession(null);
    }
  }

  getUser(userId: string): Promise<User> {
    return this.call("GET", `/api/user/info/${encodeURIComponent(userId)}`, undefined, true).then(readUser);
  }

  getUsers(userIds: readonly string[]): Promise<User[]> {
    return this.call("POST", "/api/user/info/batch", { userIDs: userIds }, true).then(readUsers);
  }

  /** Users by exact id, username prefix or nickname prefix (any case); at most 50 a page. */
  searchUsers(keyword: string, options: { offset?: number; limit?: number } = {}): Promise<User[]> {
    const query = new URLSearchParams({ keyword });
    if (options.offset !== undefined) query.set("offset", String(options.offset));
    if (options.limit !== undefined) query.set("limit", String(options.limit));
    return this.request("GET", `/api/user/search?${query}`).then(readUsers);
  }

  /** An authenticated call (refreshing as needed); resolves with the envelope's `data`. */
  request(method: Method, path: string, body?: unknown): Promise<unknown> {
    return this.call(method, path, body, true);
  }

  /** An access token valid for at least the refresh margin, refreshing first when needed. */
  async freshToken(): Promise<string> {
    const session = this.requireSession();
    if (session.expiresAt - Date.now() > TOKEN_REFRESH_MARGIN_MS) return session.token;
    return (await this.refresh()).token;
  }

  private async doRefresh(): Promise<Session> {
    const { refreshToken } = this.requireSession();
    try {
      const session = readSession(await this.call("POST", "/api/auth/refresh", { refreshToken }, false));
      this.setSession(session);
      return session;
    } catch (error) {
      // A refused refresh token is spent or revoked: the session is over.
      if (error instanceof IMHttpError && error.status === 401) this.setSession(null);
      throw error;
    }
  }

  private requireSession(): Session {
    if (!this.current) throw new IMHttpError(0, 401, "not logged in");
    return this.current;
  }

  /** One call; with `auth`, a 401 is answered by one refresh and one retry. */
  private async call(method: Method, path: string, body: unknown, auth: boolean): Promise<unknown> {
    if (!auth) return this.send(method, path, body, null);
    return this.authorized((token) => this.send(method, path, body, token));
  }

  /** Runs `attempt` with a fresh token; a 401 is answered by one refresh and one retry. */
  private async authorized<T>(attempt: (token: string) => Promise<T>): Promise<T> {
    const token = await this.freshToken();
    try {
      return await attempt(token);
    } catch (error) {
      if (!(error instanceof IMHttpError) || error.status !== 401 || !this.current) throw error;
      return attempt((await this.refresh()).token);
    }
  }

  /**
   * POST /upload with the session's token: multipart with the file name when one is given (the
   * server keeps its extension), else the raw bytes (the server guesses the type from them).
   */
  upload(file: Blob, fileName?: string): Promise<UploadedFile> {
    return this.authorized(async (token) => {
      const headers: Record<string, string> = {
        Accept: "application/json",
        Authorization: `Bearer ${token}`,
      };
      let body: Blob | FormData = file;
      if (fileName) {
        body = new FormData();
        body.append("file", file, fileName);
      } else {
        headers["Content-Type"] = "application/octet-stream";
      }
      let response: Response;
      try {
        response = await this.options.fetch(`${this.options.apiUrl}/upload`, {
          method: "POST",
          headers,
          body,
          signal: AbortSignal.timeout(UPLOAD_TIMEOUT_MS),
        });
      } catch (error) {
        throw new IMHttpError(0, 0, `POST /upload failed: ${String(error)}`, { cause: error });
      }
      const parsed: unknown = await response.json().catch(() => null);
      return readUploadAnswer(parsed, response.status, file.size);
    });
  }

  private async send(method: Method, path: string, body: unknown, token: string | null): Promise<unknown> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await this.options.fetch(`${this.options.apiUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      throw new IMHttpError(0, 0, `${method} ${path} failed: ${String(error)}`, { cause: error });
    }
    let parsed: unknown = null;
    try {
      parsed = await response.json();
    } catch {
      // handled below: no envelope
    }
    const envelope = readEnvelope(parsed);
    if (!envelope) throw new IMHttpError(response.status, response.status, `${method} ${path}: no envelope`);
    if (envelope.code !== 0) throw new IMHttpError(response.status, envelope.code, envelope.message);
    return envelope.data;
  }
}
