// Names for ids: users and groups looked up once (batched) and cached, with a change callback so
// views re-render when a name arrives.
import type { Group, IMClient, User } from "edge-im/client";

export class Directory {
  private readonly users = new Map<string, User>();
  private readonly groups = new Map<string, Group>();
  private readonly wanted = new Set<string>();
  private readonly wantedGroups = new Set<string>();
  /** Ids asked for once: not asked again, even when the server did not know them. */
  private readonly asked = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly client: IMClient;
  private readonly changed: () => void;

  constructor(client: IMClient, changed: () => void) {
    this.client = client;
    this.changed = changed;
  }

  addUsers(users: readonly User[]): void {
    for (const user of users) this.users.set(user.userID, user);
  }

  addGroups(groups: readonly Group[]): void {
    for (const group of groups) this.groups.set(group.groupID, group);
  }

  user(userId: string): User | undefined {
    return this.users.get(userId);
  }

  group(groupId: string): Group | undefined {
    return this.groups.get(groupId);
  }

  /** The user's nickname, or a short form of the id until it is known (and looks it up). */
  userName(userId: string): string {
    const user = this.users.get(userId);
    if (user) return user.nickname || user.userID;
    this.want(userId);
    return `User ${userId.slice(-4)}`;
  }

  groupName(groupId: string): string {
    const group = this.groups.get(groupId);
    if (group) return group.groupName;
    if (this.asked.has(groupId)) return "Group";
    this.asked.add(groupId);
    this.wantedGroups.add(groupId);
    this.schedule();
    return "Group";
  }

  /** The user's name, looked up now when it is not known yet. */
  async resolveUserName(userId: string): Promise<string> {
    if (!this.users.has(userId)) {
      try {
        this.addUsers([await this.client.getUser(userId)]);
      } catch {
        // unknown or offline: the placeholder name
      }
    }
    return this.userName(userId);
  }

  want(userId: string): void {
    if (!userId || this.users.has(userId) || this.asked.has(userId)) return;
    this.asked.add(userId);
    this.wanted.add(userId);
    this.schedule();
  }

  /** Looks up everything asked for in the same tick with one batch call. */
  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, 0);
  }

  private async flush(): Promise<void> {
    const ids = [...this.wanted].slice(0, 100);
    for (const id of ids) this.wanted.delete(id);
    const groupIds = [...this.wantedGroups];
    this.wantedGroups.clear();
    const results = await Promise.allSettled([
      ids.length > 0 ? this.client.getUsers(ids) : Promise.resolve([]),
      ...groupIds.map((id) => this.client.groups.get(id)),
    ]);
    let any = false;
    for (const [i, result] of results.entries()) {
      if (result.status !== "fulfilled") {
        // A failed call (offline?) may be asked again later.
        for (const id of i === 0 ? ids : [groupIds[i - 1] ?? ""]) this.asked.delete(id);
        continue;
      }
      const value = result.value;
      if (Array.isArray(value)) this.addUsers(value);
      else this.addGroups([value]);
      any = true;
    }
    if (this.wanted.size > 0) this.schedule();
    if (any) this.changed();
  }
}
