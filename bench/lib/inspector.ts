// A DevTools protocol session with the Worker's isolate, through the inspector `wrangler dev`
// serves (--inspector-port): the CPU profile (profile.ts) and the heap probe (heap-probe.ts).
import WebSocket from "ws";
import type { RunningServer } from "./server.ts";

export interface Inspector {
  call(method: string, params?: object): Promise<Record<string, unknown>>;
  close(): void;
}

export async function connectInspector(server: RunningServer): Promise<Inspector> {
  const targets = (await (await fetch(`${server.inspectorOrigin}/json`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error("no inspector target");
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let id = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const mine = ++id;
      const onMessage = (data: Buffer) => {
        const message = JSON.parse(data.toString("utf8")) as {
          id?: number;
          result?: Record<string, unknown>;
          error?: unknown;
        };
        if (message.id !== mine) return;
        ws.off("message", onMessage);
        if (message.error) reject(new Error(`${method}: ${JSON.stringify(message.error)}`));
        else resolve(message.result ?? {});
      };
      ws.on("message", onMessage);
      ws.send(JSON.stringify({ id: mine, method, params }));
    });
  return { call, close: () => ws.close() };
}
