// The client of the baseline relay (bench/baseline/worker.ts): text frames, no protobuf, no auth.
// The same load shape as ImConnection: sends acked by the relay, pushes answered with an ack frame.
import WebSocket from "ws";
import { wsUrl } from "./im-connection.ts";
import { PendingRequests } from "./pending.ts";

const REQUEST_TIMEOUT_MS = 15_000;

export class RelayConnection {
  private nextId = 1;
  private readonly pending = new PendingRequests<void>();
  onPush: ((content: string) => void) | null = null;
  closed = false;

  private readonly ws: WebSocket;
  readonly userId: string;
  /** Sends go through the relay's ordered floor ("o" frames) instead of straight to the receiver. */
  private readonly ordered: boolean;

  private constructor(ws: WebSocket, userId: string, ordered: boolean) {
    this.ws = ws;
    this.userId = userId;
    this.ordered = ordered;
    ws.on("message", (data: Buffer) => this.receive(data.toString("utf8")));
    ws.on("close", () => {
      this.closed = true;
      this.pending.rejectAll(new Error("socket closed"));
    });
    ws.on("error", () => {
      // "close" follows and fails what is pending
    });
  }

  /** Opens the socket and waits for the answer to a hello, the counterpart of AUTH. */
  static async open(
    origin: string,
    userId: string,
    timeoutMs = REQUEST_TIMEOUT_MS,
    ordered = false,
  ): Promise<RelayConnection> {
    const ws = new WebSocket(wsUrl(origin, `/ws?user=${encodeURIComponent(userId)}`), {
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
    });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) =>
        reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)),
      );
    });
    const connection = new RelayConnection(ws, userId, ordered);
    await connection.heartbeat(timeoutMs);
    return connection;
  }

  private receive(text: string): void {
    const kind = text[0];
    if (kind === "p") {
      this.onPush?.(text.slice(2));
      this.ws.send("k");
    } else if (kind === "a" || kind === "H") {
      this.pending.resolve(Number(text.slice(2)), undefined);
    }
  }

  send(to: string, content: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error("socket closed"));
    const id = this.nextId++;
    if (this.ordered) {
      const pair = [this.userId, to].sort().join("-");
      this.ws.send(`o ${id} ${pair} ${to} ${content}`);
    } else {
      this.ws.send(`s ${id} ${to} ${content}`);
    }
    return this.pending.wait(id, REQUEST_TIMEOUT_MS, "send");
  }

  /** A group send: the relay has no groups, so the sender names the members to push to. */
  sendToGroup(groupId: string, members: string[], content: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error("socket closed"));
    const id = this.nextId++;
    this.ws.send(
      this.ordered
        ? `o ${id} ${groupId} ${members.join(",")} ${content}`
        : `g ${id} ${members.join(",")} ${content}`,
    );
    return this.pending.wait(id, REQUEST_TIMEOUT_MS, "group send");
  }

  heartbeat(timeoutMs = REQUEST_TIMEOUT_MS): Promise<void> {
    if (this.closed) return Promise.reject(new Error("socket closed"));
    const id = this.nextId++;
    this.ws.send(`h ${id}`);
    return this.pending.wait(id, timeoutMs, "heartbeat");
  }

  close(): void {
    this.closed = true;
    this.ws.close(1000);
  }

  terminate(): void {
    this.closed = true;
    this.ws.terminate();
  }
}
