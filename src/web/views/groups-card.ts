// The Contacts tab's groups: the user's groups, a form to create one with friends, and a form to
// join one by its ID. The forms are built once, so a re-render never loses what is being typed.
import { groupConversationId, type Friend, type Group } from "edge-im/client";
import { errorText, type AppContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { card, personRow } from "./people.ts";

export class GroupsCard {
  readonly element: HTMLElement;
  private readonly list = h("ul", { class: "people", "aria-label": "Your groups" });
  private readonly picks = h("div", { class: "checks" });
  private readonly picked = new Set<string>();
  private readonly ctx: AppContext;
  private readonly changed: () => void;

  /** `changed` runs after a group was created or joined. */
  constructor(ctx: AppContext, changed: () => void) {
    this.ctx = ctx;
    this.changed = changed;
    const name = h("input", {
      name: "groupName",
      placeholder: "Group name",
      "aria-label": "Group name",
      required: true,
      maxlength: 64,
    });
    const create = h(
      "form",
      {
        class: "stack-form",
        "aria-label": "New group",
        onsubmit: (e: SubmitEvent) => {
          e.preventDefault();
          const input = { groupName: name.value.trim(), memberUserIDs: [...this.picked] };
          this.run(ctx.client.groups.create(input), () => {
            name.value = "";
            this.picked.clear();
          });
        },
      },
      h(
        "div",
        { class: "inline-form" },
        name,
        h("button", { class: "primary small", type: "submit" }, "Create"),
      ),
      this.picks,
    );
    const groupId = h("input", {
      name: "groupID",
      placeholder: "Group ID",
      "aria-label": "Group ID",
      required: true,
      autocapitalize: "none",
      spellcheck: "false",
    });
    const join = h(
      "form",
      {
        class: "inline-form",
        "aria-label": "Join a group",
        onsubmit: (e: SubmitEvent) => {
          e.preventDefault();
          this.run(ctx.client.groups.join(groupId.value.trim()), () => (groupId.value = ""));
        },
      },
      groupId,
      h("button", { class: "small", type: "submit" }, "Join"),
    );
    this.element = card(
      "Groups",
      this.list,
      h("h4", null, "New group"),
      create,
      h("h4", null, "Join a group"),
      join,
    ).element;
  }

  render(groups: readonly Group[], friends: readonly Friend[]): void {
    this.list.hidden = groups.length === 0;
    replace(
      this.list,
      ...groups.map((g) =>
        personRow(
          g.groupID,
          g.groupName,
          `${g.memberCount} members`,
          [
            h(
              "button",
              {
                class: "small",
                type: "button",
                onclick: () => this.ctx.openConversation(groupConversationId(g.groupID)),
              },
              "Open",
            ),
          ],
          { group: true },
        ),
      ),
    );
    this.picks.hidden = friends.length === 0;
    replace(
      this.picks,
      h("small", { class: "muted" }, "Add friends:"),
      ...friends.map((f) =>
        h(
          "label",
          { class: "check" },
          h("input", {
            type: "checkbox",
            value: f.friendUserID,
            checked: this.picked.has(f.friendUserID),
            onchange: (e: Event) => {
              const box = e.currentTarget;
              if (!(box instanceof HTMLInputElement)) return;
              if (box.checked) this.picked.add(box.value);
              else this.picked.delete(box.value);
            },
          }),
          f.user.nickname || f.friendUserID,
        ),
      ),
    );
  }

  private run(call: Promise<Group>, done: () => void): void {
    call.then(
      (group) => {
        done();
        this.ctx.directory.addGroups([group]);
        this.ctx.openConversation(groupConversationId(group.groupID));
        this.changed();
      },
      (error: unknown) => this.ctx.toast(errorText(error)),
    );
  }
}
