// The baseline relay: what the platform costs for the IM server's load shape, with none of the app.
// Text frames, one per line of this protocol (client → server; the server's answer):
//   "h <id>"                 hello / heartbeat → "H <id>"
//   "s <id> <to> <content>"  send: RPC to the receiver's object, which pushes "p <content>" to its
//                            sockets; then the sender gets "a <id>"
//   "k <anything>"           delivered-ack from a receiver; dropped (it keeps the load shape equal)
import { DurableObject } from "cloudflare:workers";

interface Env {
  RELAY: DurableObjectNamespace<RelayObject>;
}

export class RelayObject extends DurableObject<Env> {
  override async fetch(): Promise<Response> {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const text = typeof data === "string" ? data : new TextDecoder().decode(data);
    const kind = text[0];
    if (kind === "h") return ws.send(`H ${text.slice(2)}`);
    if (kind !== "s") return;
    const idEnd = text.indexOf(" ", 2);
    const toEnd = text.indexOf(" ", idEnd + 1);
    if (idEnd < 0 || toEnd < 0) return;
    await this.env.RELAY.getByName(text.slice(idEnd + 1, toEnd)).push(text.slice(toEnd + 1));
    ws.send(`a ${text.slice(2, idEnd)}`);
  }

  /** RPC from the sender's object: push to every socket of this user. */
  push(content: string): void {
    for (const ws of this.ctx.getWebSockets()) ws.send(`p ${content}`);
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/health") return Response.json({ status: "healthy" });
    const user = url.searchParams.get("user");
    if (url.pathname !== "/ws" || !user || request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected GET /ws?user=<id> with Upgrade: websocket", { status: 400 });
    }
    return env.RELAY.getByName(user).fetch(request);
  },
} satisfies ExportedHandler<Env>;
