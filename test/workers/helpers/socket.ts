// A protocol client (test/support/protocol-client.ts) over a real WebSocket opened through the
// worker's fetch (Upgrade: websocket). Every frame is queued for `next` and the drains.
import { exports } from "cloudflare:workers";
import { singleConversationId } from "../../../src/protocol/conversation-id";
import { MAX_FRAME_BYTES } from "../../../src/protocol/limits";
import { authenticate, ProtocolClient, textMessage } from "../../support/protocol-client";
import { ORIGIN, type TestUser } from "./http";

const DEFAULT_WAIT_MS = 5_000;

export class TestSocket extends ProtocolClient {
  private constructor(readonly ws: WebSocket) {
    super(
      {
        send: (bytes) => ws.send(bytes),
        close: (code, reason) => ws.close(code, reason),
        get isOpen() {
          return ws.readyState === WebSocket.OPEN;
        },
      },
      // No frame the server sends may exceed the frame limit (PROTOCOL.md, decision 9): every
      // test's every frame is held to it (and `largestFrame` is the largest seen).
      { timeoutMs: DEFAULT_WAIT_MS, queue: true, maxFrameBytes: MAX_FRAME_BYTES },
    );
    ws.addEventListener("message", (event) =>
      this.receive(typeof event.data === "string" ? event.data : new Uint8Array(event.data as ArrayBuffer)),
    );
    ws.addEventListener("close", (event) => this.ended(event.code, event.reason));
  }

  /** Opens /ws with the token in the query, as the SDK does. */
  static async open(token: string, query = ""): Promise<TestSocket> {
    const response = await exports.default.fetch(`${ORIGIN}/ws?token=${encodeURIComponent(token)}${query}`, {
      headers: { Upgrade: "websocket" },
    });
    const ws = response.webSocket;
    if (!ws) throw new Error(`upgrade refused: ${response.status} ${await response.text()}`);
    // Newer compatibility dates deliver binary frames as Blob by default.
    ws.binaryType = "arraybuffer";
    ws.accept();
    return new TestSocket(ws);
  }

  /** Opens a socket and authenticates it; fails the test unless AUTH succeeds. */
  static async connect(user: TestUser, platform = "iOS"): Promise<TestSocket> {
    const socket = await TestSocket.open(user.token, `&platform=${platform}`);
    await authenticate(socket, user.userId, user.token, platform);
    return socket;
  }

  /** Sends bytes or text as they are. */
  override sendRaw(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  /** Sends a text message to `to` and returns SEND_MSG_RSP. */
  sendText(from: string, to: string, text: string, clientMsgId?: string) {
    return this.sendMessage(textMessage(singleConversationId(from, to), from, to, text, clientMsgId));
  }

  override close(code = 1000, reason = "test done"): void {
    super.close(code, reason);
  }
}

export const text = (bytes: Uint8Array | null | undefined) =>
  new TextDecoder().decode(bytes ?? new Uint8Array());
