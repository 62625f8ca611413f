// One WebSocket of protobuf frames: opens it, numbers requests, decodes frames, reports its close once.
import { Cmd, decodeFrame, encodeFrame, type Encoder, type Frame } from "../protocol/codec.ts";
import { IMConnectionError } from "./errors.ts";

/** Makes the WebSocket; the default is the standard global one (browsers, Node ≥ 22). */
export type WebSocketFactory = (url: string, protocols: string[]) => WebSocket;

/**
 * For tests and diagnostics only: see every frame. `inbound` returning false drops the frame as
 * if the network had lost it.
 */
export interface FrameHooks {
  inbound?: (frame: Frame) => boolean | void;
  outbound?: (frame: Frame) => void;
}

export interface FrameSocketHandlers {
  frame: (frame: Frame) => void;
  /** Called once, when the socket closes or fails after it opened. */
  closed: (code: number, reason: string) => void;
}

export const defaultWebSocketFactory: WebSocketFactory = (url, protocols) => new WebSocket(url, protocols);

export class FrameSocket {
  private sequence = 0;
  private done = false;
  private readonly ws: WebSocket;
  private readonly hooks: FrameHooks;
  private handlers: FrameSocketHandlers | null = null;

  private constructor(ws: WebSocket, hooks: FrameHooks) {
    this.ws = ws;
    this.hooks = hooks;
    ws.addEventListener("message", (event) => this.receive(event.data));
    ws.addEventListener("close", (event) => this.finish(event.code, event.reason));
    ws.addEventListener("error", () => this.finish(1006, "socket error"));
  }

  /** Opens a socket; rejects when it fails or closes before it opens, or after `timeoutMs`. */
  static open(
    url: string,
    protocols: string[],
    factory: WebSocketFactory,
    hooks: FrameHooks,
    timeoutMs: number,
  ): Promise<FrameSocket> {
    return new Promise((resolve, reject) => {
      const ws = factory(url, protocols);
      ws.binaryType = "arraybuffer";
      const socket = new FrameSocket(ws, hooks);
      const fail = (message: string) => {
        clearTimeout(timer);
        socket.handlers = null;
        socket.close(1000, message);
        reject(new IMConnectionError(message));
      };
      const timer = setTimeout(() => fail(`no WebSocket open within ${timeoutMs} ms`), timeoutMs);
      socket.handlers = {
        frame: () => {},
        closed: (code, reason) => fail(`WebSocket closed before it opened (${code} ${reason})`.trim()),
      };
      ws.addEventListener("open", () => {
        clearTimeout(timer);
        socket.handlers = null;
        resolve(socket);
      });
    });
  }

  /** Where frames and the close go from now on. Frames that arrive before this are dropped. */
  attach(handlers: FrameSocketHandlers): void {
    this.handlers = handlers;
  }

  get isOpen(): boolean {
    return !this.done && this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a request numbered with this socket's next sequence, and returns that sequence. */
  send<T>(command: Cmd, type: Encoder<T>, body: T): number {
    if (!this.isOpen) throw new IMConnectionError("the socket is not open");
    const sequence = ++this.sequence;
    const bytes = encodeFrame(command, sequence, type, body);
    this.hooks.outbound?.(decodeFrame(bytes));
    // protobufjs writes into plain ArrayBuffers, never shared ones.
    this.ws.send(bytes as Uint8Array<ArrayBuffer>);
    return sequence;
  }

  /**
   * Closes now, without waiting for the peer: a dead link would hold a closing handshake for a
   * long time. The handlers hear `closed` at once, and never again.
   */
  close(code = 1000, reason = ""): void {
    try {
      this.ws.close(code, reason.slice(0, 120));
    } catch {
      // already closing
    }
    this.finish(code, reason);
  }

  private receive(data: unknown): void {
    if (this.done) return;
    if (!(data instanceof ArrayBuffer)) return; // the server only sends binary frames
    let frame: Frame;
    try {
      frame = decodeFrame(new Uint8Array(data));
    } catch {
      return; // an undecodable frame carries nothing we could act on
    }
    if (this.hooks.inbound?.(frame) === false) return;
    this.handlers?.frame(frame);
  }

  private finish(code: number, reason: string): void {
    if (this.done) return;
    this.done = true;
    const handlers = this.handlers;
    this.handlers = null;
    handlers?.closed(code, reason);
  }
}
