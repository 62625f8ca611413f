// The Contacts tab: find users and send friend requests, answer requests, start a chat with a
// friend, and the groups card. Forms are built once; only the lists re-render, so nothing being
// typed is lost when a notice or a name arrives.
import type { Friend, FriendRequest, Group, User } from "edge-im/client";
import { errorText, type AppContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { GroupsCard } from "./groups-card.ts";
import { actionButton, card, personRow } from "./people.ts";

interface Social {
  friends: Friend[];
  incoming: FriendRequest[];
  outgoing: FriendRequest[];
  groups: Group[];
}

const nameOf = (user: User) => user.nickname || user.userID;

export class ContactsView {
  readonly element = h("div", { class: "contacts" });
  private social: Social = { friends: [], incoming: [], outgoing: [], groups: [] };
  private results: User[] | null = null;
  private readonly resultsBox = h("div");
  private readonly requestsList = h("ul", { class: "people", "aria-label": "Friend requests" });
  private readonly requestsCard = card("Friend requests", this.requestsList);
  private readonly friendsBox = h("div");
  private readonly friendsCard = card("Friends", this.friendsBox);
  private readonly groupsCard: GroupsCard;
  private readonly ctx: AppContext;
  private readonly changed: (incoming: number) => void;

  /** `changed` hears the number of incoming requests after every reload (for the tab's badge). */
  constructor(ctx: AppContext, changed: (incoming: number) => void) {
    this.ctx = ctx;
    this.changed = changed;
    this.groupsCard = new GroupsCard(ctx, () => void this.reload());
    this.element.append(
      this.searchCard(),
      this.requestsCard.element,
      this.friendsCard.element,
      this.groupsCard.element,
    );
    this.render();
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
      directory.addUsers([...friends, ...incoming, ...outgoing].map((x) => x.user));
      directory.addGroups(groups);
    } catch (error) {
      this.ctx.toast(`Could not load contacts: ${errorText(error)}`);
    }
    this.changed(this.social.incoming.length);
    this.render();
  }

  render(): void {
    this.renderResults();
    this.renderRequests();
    this.renderFriends();
    this.groupsCard.render(this.social.groups, this.social.friends);
  }

  private action(label: string, run: () => Promise<unknown>, primary = false): HTMLButtonElement {
    return actionButton(
      label,
      () => run().then(() => this.reload()),
      (error) => this.ctx.toast(errorText(error)),
      primary,
    );
  }

  private chatButton(userId: string): HTMLButtonElement {
    const open = () => this.ctx.openConversation(this.ctx.client.conversationWith(userId));
    return h("button", { class: "small", type: "button", onclick: open }, "Message");
  }

  private searchCard(): HTMLElement {
    const input = h("input", {
      type: "search",
      name: "search",
      placeholder: "Name or user ID",
      "aria-label": "Search people",
      autocapitalize: "none",
      spellcheck: "false",
    });
    const form = h(
      "form",
      {
        class: "inline-form",
        onsubmit: (e: SubmitEvent) => {
          e.preventDefault();
          const query = input.value.trim();
          if (!query) return;
          this.ctx.client.searchUsers(query, { limit: 20 }).then(
            (users) => {
              this.results = users;
              this.ctx.directory.addUsers(users);
              this.renderResults();
            },
            (error: unknown) => this.ctx.toast(errorText(error)),
          );
        },
      },
      input,
      h("button", { class: "primary small", type: "submit" }, "Search"),
    );
    return card("Find people", form, this.resultsBox).element;
  }

  private renderResults(): void {
    if (!this.results) return replace(this.resultsBox);
    if (this.results.length === 0)
      return replace(this.resultsBox, h("p", { class: "muted" }, "Nobody found."));
    const { friends, outgoing, incoming } = this.social;
    const { client } = this.ctx;
    const rows = this.results.map((user) => {
      const id = user.userID;
      let action: HTMLElement;
      if (id === this.ctx.me.userID) action = h("small", { class: "muted" }, "You");
      else if (friends.some((f) => f.friendUserID === id)) action = this.chatButton(id);
      else if (outgoing.some((r) => r.toUserID === id)) action = h("small", { class: "muted" }, "Requested");
      else if (incoming.some((r) => r.fromUserID === id))
        action = this.action("Accept", () => client.friends.accept(id), true);
      else action = this.action("Add friend", () => client.friends.add(id), true);
      return personRow(id, nameOf(user), `ID ${id}`, [action]);
    });
    replace(this.resultsBox, h("ul", { class: "people", "aria-label": "Search results" }, ...rows));
  }

  private renderRequests(): void {
    const { incoming, outgoing } = this.social;
    const { client } = this.ctx;
    this.requestsCard.element.hidden = incoming.length === 0 && outgoing.length === 0;
    replace(
      this.requestsList,
      ...incoming.map((r) =>
        personRow(
          r.fromUserID,
          nameOf(r.user),
          r.message ? `“${r.message}”` : "wants to be your friend",
          [
            this.action("Decline", () => client.friends.reject(r.fromUserID)),
            this.action("Accept", () => client.friends.accept(r.fromUserID), true),
          ],
          { className: "request" },
        ),
      ),
      ...outgoing.map((r) =>
        personRow(r.toUserID, nameOf(r.user), "waiting for an answer", [
          h("small", { class: "muted" }, "Requested"),
        ]),
      ),
    );
  }

  private renderFriends(): void {
    const { friends } = this.social;
    this.friendsCard.title.textContent = friends.length > 0 ? `Friends · ${friends.length}` : "Friends";
    if (friends.length === 0) {
      replace(
        this.friendsBox,
        h("p", { class: "muted" }, "No friends yet. Search for people above to send a request."),
      );
      return;
    }
    const rows = friends.map((f) =>
      personRow(f.friendUserID, nameOf(f.user), f.remark || f.user.signature, [
        this.chatButton(f.friendUserID),
      ]),
    );
    replace(this.friendsBox, h("ul", { class: "people", "aria-label": "Friends" }, ...rows));
  }
}
