// Rich messages' requests (docs/RICH-MESSAGES.md): react, edit, pin, thread, changes and edit
// history, each a round trip over the connection whose refusal is an IMProtocolError with its code.
import { Cmd, pb } from "../protocol/codec.ts";
import type { im } from "../protocol/generated/im.js";
import type { Connection } from "./connection.ts";
import { expectSuccess, IMError } from "./errors.ts";
import { toMessage } from "./message.ts";
import { toPins, toReactions, toVersions } from "./rich-shapes.ts";
import type { Message, MessageVersion, PinnedMessage, Reaction, ThreadPage } from "./types.ts";

const encoder = new TextEncoder();

/** The server's largest thread page, and the largest CHANGES page (proto/im.proto). */
export const MAX_THREAD_PAGE = 100;
export const MAX_CHANGES_PAGE = 200;

/** One CHANGES_RSP: the changed messages (current state, change order) and the pins when they changed. */
export interface ChangesPage {
  messages: Message[];
  /** The whole pinned list, when it changed after the asked change number; null otherwise. */
  pins: PinnedMessage[] | null;
  /** Applied up to here: ask from it next. */
  modSeq: number;
  hasMore: boolean;
}

/** `pinsOnly`: a device new to the conversation asks only the pinned list and the newest change number. */
export type ChangesRequest = (
  conversationId: string,
  afterModSeq: number,
  options?: { pinsOnly?: boolean },
) => Promise<ChangesPage>;

export class RichRequests {
  private readonly connection: Connection;

  constructor(connection: Connection) {
    this.connection = connection;
  }

  /**
   * Adds (or with `remove` takes back) this user's reaction; resolves with the message's reactions
   * and the change number the request left (the message's).
   */
  async react(
    conversationId: string,
    serverMsgId: string,
    emoji: string,
    remove: boolean,
  ): Promise<{ reactions: Reaction[]; modSeq: number }> {
    const response = await this.connection.request(
      Cmd.CMD_REACT_REQ,
      pb.ReactRequest,
      { conversationId, serverMsgId, emoji, remove },
      { command: Cmd.CMD_REACT_RSP, decode: (b) => pb.ReactResponse.decode(b) },
    );
    const answer = expectSuccess(response, Cmd.CMD_REACT_REQ);
    return { reactions: toReactions(answer.reactions), modSeq: Number(answer.modSeq ?? 0) };
  }

  async edit(
    conversationId: string,
    serverMsgId: string,
    text: string,
  ): Promise<{ editedTime: number; editCount: number; modSeq: number }> {
    if (text.trim().length === 0) throw new IMError("invalid", 0, "content is empty");
    const response = await this.connection.request(
      Cmd.CMD_EDIT_MSG_REQ,
      pb.EditMessageRequest,
      { conversationId, serverMsgId, content: encoder.encode(text) },
      { command: Cmd.CMD_EDIT_MSG_RSP, decode: (b) => pb.EditMessageResponse.decode(b) },
    );
    const answer = expectSuccess(response, Cmd.CMD_EDIT_MSG_REQ);
    return {
      editedTime: Number(answer.editedTime),
      editCount: answer.editCount,
      modSeq: Number(answer.modSeq ?? 0),
    };
  }

  /** Pins (or with `unpin` unpins) a message; resolves with the conversation's pinned list and its change number. */
  async pin(
    conversationId: string,
    serverMsgId: string,
    unpin: boolean,
  ): Promise<{ pins: PinnedMessage[]; modSeq: number }> {
    const response = await this.connection.request(
      Cmd.CMD_PIN_REQ,
      pb.PinRequest,
      { conversationId, serverMsgId, unpin },
      { command: Cmd.CMD_PIN_RSP, decode: (b) => pb.PinResponse.decode(b) },
    );
    const answer = expectSuccess(response, Cmd.CMD_PIN_REQ);
    return { pins: toPins(answer.pins), modSeq: Number(answer.modSeq ?? 0) };
  }

  async thread(
    conversationId: string,
    rootServerMsgId: string,
    options: { afterSeq?: number; limit?: number },
  ): Promise<ThreadPage> {
    const limit = Math.min(Math.max(1, Math.floor(options.limit ?? 50)), MAX_THREAD_PAGE);
    const response = await this.connection.request(
      Cmd.CMD_THREAD_REQ,
      pb.ThreadRequest,
      { conversationId, rootServerMsgId, afterSeq: options.afterSeq ?? 0, limit },
      { command: Cmd.CMD_THREAD_RSP, decode: (b) => pb.ThreadResponse.decode(b) },
    );
    const page = expectSuccess(response, Cmd.CMD_THREAD_REQ);
    return {
      root: page.root ? toMessage(page.root) : null,
      replies: page.replies.map(toMessage),
      hasMore: page.hasMore,
    };
  }

  async changes(
    conversationId: string,
    afterModSeq: number,
    options: { pinsOnly?: boolean } = {},
  ): Promise<ChangesPage> {
    const response = await this.connection.request(
      Cmd.CMD_CHANGES_REQ,
      pb.ChangesRequest,
      { conversationId, afterModSeq, limit: MAX_CHANGES_PAGE, pinsOnly: options.pinsOnly ?? false },
      { command: Cmd.CMD_CHANGES_RSP, decode: (b) => pb.ChangesResponse.decode(b) },
    );
    const page = expectSuccess(response, Cmd.CMD_CHANGES_REQ);
    return {
      messages: page.messages.map(toMessage),
      pins: page.pinsChanged ? toPins(page.pins) : null,
      modSeq: Number(page.modSeq),
      hasMore: page.hasMore,
    };
  }

  /**
   * Every earlier content, oldest first. The server answers the newest versions that fit a frame:
   * older pages are asked for until none is left (at most 20 versions, so a few requests).
   */
  async editHistory(conversationId: string, serverMsgId: string): Promise<MessageVersion[]> {
    const pages: im.protocol.IMessageVersion[][] = [];
    let beforeVersion = 0;
    for (;;) {
      const response = await this.connection.request(
        Cmd.CMD_EDIT_HISTORY_REQ,
        pb.EditHistoryRequest,
        { conversationId, serverMsgId, beforeVersion },
        { command: Cmd.CMD_EDIT_HISTORY_RSP, decode: (b) => pb.EditHistoryResponse.decode(b) },
      );
      const page = expectSuccess(response, Cmd.CMD_EDIT_HISTORY_REQ);
      pages.unshift(page.versions);
      const oldest = page.versions[0]?.version ?? 0;
      // A server that does not page (no version numbers) answered everything at once.
      if (!page.hasMore || oldest <= 1) break;
      beforeVersion = oldest;
    }
    return toVersions(pages.flat());
  }
}
