// The baseline relay: what the platform costs for the IM server's load shape, with none of the app.
// Text frames, one per line of this protocol (client → server; the server's answer):
//   "h <id>"                 hello / heartbeat → "H <id>"
//   "s <id> <to> <content>"  send: RPC to the receiver's object, which pushes "p <content>" to its
//                            sockets; then the sender gets "a <id>"
//   "g <id> <to1,to2,...> <content>"
//                            group send (the sparse scenario): one push RPC per listed member, as the
//                            IM server's fan-out makes one delivery per member; then "a <id>"
//   "k <anything>"           delivered-ack from a receiver; dropped (it keeps the load shape equal)
// GET /usage answers its invocation counts in the IM server's /debug/usage shape (one increment each).
import { DurableObject } from "cloudflare:workers";
import { emptyUsage } from "../../src/lib/usage.ts";

/** Invocations by object and kind, as the IM server counts them (src/lib/usage-meter.ts). */
const invocations: Record<string, number> = {};
function count(key: string): void {
  invocations[key] = (invocations[key] ?? 0) + 1;
}

interface Env {
  RELAY: DurableObjectNamespace<RelayObject>;
}

export class RelayObject extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    count("relay.start"); // a wake after hibernation or eviction, as the server counts its own
  }

  override async fetch(): Promise<Response> {
    count("relay.request");
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    count("relay.frame");
    const text = typeof data === "string" ? data : new TextDecoder().decode(data);
    const kind = text[0];
    if (kind === "h") return ws.send(`H ${text.slice(2)}`);
    if (kind !== "s" && kind !== "g") return;
    const idEnd = text.indexOf(" ", 2);
    const toEnd = text.indexOf(" ", idEnd + 1);
    if (idEnd < 0 || toEnd < 0) return;
    const to = text.slice(idEnd + 1, toEnd);
    const content = text.slice(toEnd + 1);
    if (kind === "s") await this.env.RELAY.getByName(to).push(content);
    else await Promise.all(to.split(",").map((member) => this.env.RELAY.getByName(member).push(content)));
    ws.send(`a ${text.slice(2, idEnd)}`);
  }

  /** RPC from the sender's object: push to every socket of this user. */
  push(content: string): void {
    count("relay.rpc");
    for (const ws of this.ctx.getWebSockets()) ws.send(`p ${content}`);
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/health") return Response.json({ status: "healthy" });
    if (url.pathname === "/usage") {
      return Response.json({ data: emptyUsage(invocations) });
    }
    count("worker.request");
    const user = url.searchParams.get("user");
    if (url.pathname !== "/ws" || !user || request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected GET /ws?user=<id> with Upgrade: websocket", { status: 400 });
    }
    return env.RELAY.getByName(user).fetch(request);
  },
} satisfies ExportedHandler<Env>;
