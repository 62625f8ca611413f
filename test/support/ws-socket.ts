// The `ws` package's WebSocket (Node: node tests, chaos test, bench) under a ProtocolClient.
import WebSocket from "ws";
import type { ProtocolClient, WireSocket } from "./protocol-client.ts";

/** Opens a WebSocket; rejects when it fails, or the server answers the upgrade with an HTTP status. */
export async function openWebSocket(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, options);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
    ws.once("unexpected-response", (_request, response) => {
      reject(new Error(`upgrade refused: HTTP ${response.statusCode}`));
      ws.terminate();
    });
  });
  return ws;
}

/** What a ProtocolClient sends through: the open `ws` WebSocket. */
export function wsSocket(ws: WebSocket): WireSocket {
  return {
    send: (bytes) => ws.send(bytes),
    close: (code, reason) => ws.close(code, reason),
    terminate: () => ws.terminate(),
    get isOpen() {
      return ws.readyState === WebSocket.OPEN;
    },
  };
}

/** Feeds the client what the WebSocket receives, its errors and its close. */
export function feedFrom(ws: WebSocket, client: ProtocolClient): void {
  ws.on("message", (data: Buffer, isBinary: boolean) =>
    client.receive(
      isBinary ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data.toString(),
    ),
  );
  // An error is followed by the close; requests fail at the first of the two.
  ws.on("error", (error) => client.failed(error.message));
  ws.on("close", (code, reason) => client.ended(code, reason.toString()));
}
