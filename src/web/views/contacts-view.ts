// People and groups: find users and send friend requests, answer incoming requests, start a chat
// with a friend, create a group with friends, join a group by its ID.
import type { Friend, FriendRequest, Group, User } from "edge-im/client";
import { errorText, type AppContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { avatar } from "./avatar.ts";

interface Social {
  friends: Friend[];
  incoming: FriendRequest[];
  outgoing: FriendRequest[];
  groups: Group[];
}

/** A row for a user; `detail` is a second line (omitted when empty). */
function person(user: User, detail: string, ...actions: (HTMLElement | false)[]): HTMLElement {
  const name = user.nickname || user.userID;
  return h(
    "li",
    { class: "person", "data-user": user.userID },
    avatar(user.userID, name, "sm"),
    h(
      "span",
      { class: "person-text" },
      h("span", { class: "person-name" }, name),
      detail && h("small", { title: detail }, detail),
    ),
    h("span", { class: "person-actions" }, ...actions),
  );
}

function section(title: string, ...content: (Node | false)[]): HTMLElement {
  return h("section", { class: "card", "aria-label": title }, h("h3", null, title), ...content);
}

export class ContactsView {
  readonly element = h("div", { class: "contacts" });
  private social: Social = { friends: [], incoming: [], outgoing: [], groups: [] };
  private results: User[] | null = null;
  private query = "";
  private readonly ctx: AppContext;
  private readonly changed: (incoming: number) => void;

  /** `changed` hears the number of incoming requests after every reload (for the tab's badge). */
  constructor(ctx: AppContext, changed: (incoming: number) => void) {
    this.ctx = ctx;
    this.changed = changed;
  }

  get incomingCount(): number {
    return this.social.incoming.length;
  }

  /** Reloads friends, requests and groups from the server. */
  async reload(): Promise<void> {
    const { client, directory } = this.ctx;
    try {
      const [friends, incoming, outgoing, groups] = await Promise.all([
        client.friends.list(),
        client.friends.requests("incoming"),
        client.friends.requests("outgoing"),
        client.groups.mine(),
      ]);
      this.social = { friends, incoming, outgoing, groups };
      directory.addUsers([
        ...friends.map((f) => f.user),
        ...incoming.map((r) => r.user),
        ...outgoing.map((r) => r.user),
      ]);
      directory.addGroups(groups);
    } catch (error) {
      this.ctx.toast(`Could not load contacts: ${errorText(error)}`);
    }
    this.changed(this.social.incoming.length);
    this.render();
  }

  render(): void {
    replace(this.element, this.searchCard(), this.requestsCard(), this.friendsCard(), this.groupsCard());
  }

  private action(label: string, run: () => Promise<unknown>, primary = false): HTMLButtonElement {
    const button = h("button", { class: primary ? "primary small" : "small", type: "button" }, label);
    button.addEventListener("click", () => {
      button.disabled = true;
      run()
        .then(() => this.reload())
        .catch((error: unknown) => {
          button.disabled = false;
          this.ctx.toast(errorText(error));
        });
    });
    return button;
  }

  private searchCard(): HTMLElement {
    const input = h("input", {
      type: "search",
      name: "search",
      placeholder: "Name or user ID",
      "aria-label": "Search people",
      value: this.query,
      autocapitalize: "none",
    });
    const form = h(
      "form",
      {
        class: "inline-form",
        onsubmit: (e: SubmitEvent) => {
          e.preventDefault();
          this.query = input.value.trim();
          if (!this.query) return;
          this.ctx.client.searchUsers(this.query, { limit: 20 }).then(
            (users) => {
              this.results = users;
              this.ctx.directory.addUsers(users);
              this.render();
            },
            (error: unknown) => this.ctx.toast(errorText(error)),
          );
        },
      },
      input,
      h("button", { class: "primary small", type: "submit" }, "Search"),
    );
    const me = this.ctx.me.userID;
    const results =
      this.results &&
      (this.results.length === 0
        ? h("p", { class: "muted" }, "Nobody found.")
        : h(
            "ul",
            { class: "people", "aria-label": "Search results" },
            ...this.results.map((user) => {
              const friend = this.social.friends.some((f) => f.friendUserID === user.userID);
              const asked = this.social.outgoing.some((r) => r.toUserID === user.userID);
              const incoming = this.social.incoming.some((r) => r.fromUserID === user.userID);
              let action: HTMLElement | false = false;
              if (user.userID === me) action = h("small", { class: "muted" }, "You");
              else if (friend) action = this.chatButton(user.userID);
              else if (asked) action = h("small", { class: "muted" }, "Requested");
              else if (incoming)
                action = this.action("Accept", () => this.ctx.client.friends.accept(user.userID), true);
              else action = this.action("Add friend", () => this.ctx.client.friends.add(user.userID), true);
              return person(user, `ID ${user.userID}`, action);
            }),
          ));
    return section("Find people", form, results ?? false);
  }

  private chatButton(userId: string): HTMLButtonElement {
    return h(
      "button",
      {
        class: "small",
        type: "button",
        onclick: () => this.ctx.openConversation(this.ctx.client.conversationWith(userId)),
      },
      "Message",
    );
  }

  private requestsCard(): HTMLElement | false {
    const { incoming, outgoing } = this.social;
    if (incoming.length === 0 && outgoing.length === 0) return false;
    return section(
      "Friend requests",
      h(
        "ul",
        { class: "people", "aria-label": "Friend requests" },
        ...incoming.map((r) => {
          const row = person(
            r.user,
            r.message ? `“${r.message}”` : "wants to be your friend",
            this.action("Decline", () => this.ctx.client.friends.reject(r.fromUserID)),
            this.action("Accept", () => this.ctx.client.friends.accept(r.fromUserID), true),
          );
          row.classList.add("request");
          return row;
        }),
        ...outgoing.map((r) =>
          person(r.user, "waiting for an answer", h("small", { class: "muted" }, "Requested")),
        ),
      ),
    );
  }

  private friendsCard(): HTMLElement {
    const { friends } = this.social;
    return section(
      `Friends${friends.length > 0 ? ` · ${friends.length}` : ""}`,
      friends.length === 0
        ? h("p", { class: "muted" }, "No friends yet. Search for people above to send a request.")
        : h(
            "ul",
            { class: "people", "aria-label": "Friends" },
            ...friends.map((f) =>
              person(f.user, f.remark || f.user.signature, this.chatButton(f.friendUserID)),
            ),
          ),
    );
  }

  private groupsCard(): HTMLElement {
    const { friends, groups } = this.social;
    const name = h("input", {
      name: "groupName",
      placeholder: "Group name",
      "aria-label": "Group name",
      required: true,
      maxlength: 64,
    });
    const picks = friends.map((f) =>
      h(
        "label",
        { class: "check" },
        h("input", { type: "checkbox", value: f.friendUserID }),
        f.user.nickname || f.friendUserID,
      ),
    );
    const create = h(
      "form",
      {
        class: "stack-form",
        "aria-label": "New group",
        onsubmit: (e: SubmitEvent) => {
          e.preventDefault();
          const members = picks.flatMap((label) => {
            const box = label.querySelector("input");
            return box?.checked ? [box.value] : [];
          });
          this.ctx.client.groups.create({ groupName: name.value.trim(), memberUserIDs: members }).then(
            (group) => {
              this.ctx.directory.addGroups([group]);
              this.ctx.openConversation(`group_${group.groupID}`);
              void this.reload();
            },
            (error: unknown) => this.ctx.toast(errorText(error)),
          );
        },
      },
      h(
        "div",
        { class: "inline-form" },
        name,
        h("button", { class: "primary small", type: "submit" }, "Create"),
      ),
      picks.length > 0 &&
        h("div", { class: "checks" }, h("small", { class: "muted" }, "Add friends:"), ...picks),
    );
    const groupId = h("input", {
      name: "groupID",
      placeholder: "Group ID",
      "aria-label": "Group ID",
      required: true,
      autocapitalize: "none",
    });
    const join = h(
      "form",
      {
        class: "inline-form",
        "aria-label": "Join a group",
        onsubmit: (e: SubmitEvent) => {
          e.preventDefault();
          this.ctx.client.groups.join(groupId.value.trim()).then(
            (group) => {
              this.ctx.directory.addGroups([group]);
              this.ctx.openConversation(`group_${group.groupID}`);
              void this.reload();
            },
            (error: unknown) => this.ctx.toast(errorText(error)),
          );
        },
      },
      groupId,
      h("button", { class: "small", type: "submit" }, "Join"),
    );
    return section(
      "Groups",
      groups.length > 0 &&
        h(
          "ul",
          { class: "people", "aria-label": "Your groups" },
          ...groups.map((g) =>
            h(
              "li",
              { class: "person" },
              avatar(g.groupID, g.groupName, "sm", true),
              h(
                "span",
                { class: "person-text" },
                h("span", { class: "person-name" }, g.groupName),
                h("small", null, `${g.memberCount} members`),
              ),
              h(
                "span",
                { class: "person-actions" },
                h(
                  "button",
                  {
                    class: "small",
                    type: "button",
                    onclick: () => this.ctx.openConversation(`group_${g.groupID}`),
                  },
                  "Open",
                ),
              ),
            ),
          ),
        ),
      h("h4", null, "New group"),
      create,
      h("h4", null, "Join a group"),
      join,
    );
  }
}
