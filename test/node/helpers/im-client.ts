// A minimal Node client that speaks the SDK's protocol: the shared protocol client
// (test/support/protocol-client.ts) over a `ws` WebSocket, every frame queued for `next`.
import type WebSocket from "ws";
import type { im } from "../../../src/protocol/generated/im.js";
import { authenticate, ProtocolClient, textMessage } from "../../support/protocol-client.ts";
import { feedFrom, openWebSocket, wsSocket } from "../../support/ws-socket.ts";

export { Cmd, Err, pb } from "../../../src/protocol/codec.ts";

export class NodeImClient extends ProtocolClient {
  private constructor(ws: WebSocket) {
    // PROTOCOL.md, decision 9: no frame the server sends exceeds the 1 MiB frame limit.
    super(wsSocket(ws), { timeoutMs: 10_000, queue: true, maxFrameBytes: 1024 * 1024 });
    feedFrom(ws, this);
  }

  static async connect(
    wsOrigin: string,
    userId: string,
    token: string,
    platform = "iOS",
  ): Promise<NodeImClient> {
    const client = new NodeImClient(await openWebSocket(`${wsOrigin}/ws?token=${encodeURIComponent(token)}`));
    await authenticate(client, userId, token, platform);
    return client;
  }

  sendText(conversationId: string, from: string, to: string, text: string, clientMsgId?: string) {
    return this.sendMessage(textMessage(conversationId, from, to, text, clientMsgId));
  }

  /** The next `count` pushed messages (PUSH_MSG or BATCH_MSG). */
  async pushed(count: number): Promise<im.protocol.MessageInfo[]> {
    return (await this.pushedMessages(count)) as im.protocol.MessageInfo[];
  }

  /** Pushed messages up to and including the first that matches. */
  override async pushedUntil(
    match: (m: im.protocol.MessageInfo) => boolean,
  ): Promise<im.protocol.MessageInfo[]> {
    return (await super.pushedUntil((m) => match(m as im.protocol.MessageInfo))) as im.protocol.MessageInfo[];
  }
}
