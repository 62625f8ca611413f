// The admin page's calls: /api/admin/* with the admin credential, answers read from the envelope.
// A refusal becomes an Error with the server's message, shown where the action was taken.

export interface AdminUser {
  user: { userID: string; nickname: string };
  username: string;
  status: "active" | "banned";
  openSessions: number;
}

export interface AdminStats {
  users: number;
  bannedUsers: number;
  messagesToday: number;
  liveSockets: number | null;
}

export class AdminApi {
  constructor(private readonly credential: string) {}

  private async call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const response = await fetch(`/api/admin${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${this.credential}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const envelope = (await response.json().catch(() => null)) as {
      code: number;
      message: string;
      data: T;
    } | null;
    if (!envelope) throw new Error(`The server answered HTTP ${response.status}.`);
    if (envelope.code !== 0) throw new Error(envelope.message);
    return envelope.data;
  }

  stats(): Promise<AdminStats> {
    return this.call("GET", "/stats");
  }

  findUser(username: string): Promise<AdminUser> {
    return this.call("GET", `/users?username=${encodeURIComponent(username)}`);
  }

  ban(userID: string, reason: string): Promise<null> {
    return this.call("POST", `/users/${encodeURIComponent(userID)}/ban`, reason ? { reason } : {});
  }

  unban(userID: string): Promise<null> {
    return this.call("POST", `/users/${encodeURIComponent(userID)}/unban`, {});
  }

  removeMessage(conversationID: string, seq: number): Promise<unknown> {
    return this.call("POST", "/messages/remove", { conversationID, seq });
  }

  broadcast(text: string, after?: string): Promise<{ sent: number; failed: string[]; next: string | null }> {
    return this.call("POST", "/system/broadcast", after ? { text, after } : { text });
  }
}
