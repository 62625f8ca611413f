// Per-socket state, kept in the socket's attachment so it survives hibernation, with a WeakMap in
// front so a hot socket is not deserialised on every frame.

export interface SocketState {
  userId: string;
  platform: string;
  deviceId: string;
  /** Unique per connection; names the device that sent a message so it gets no push of it. */
  sessionId: string;
  /** The login session of the token the socket was opened with; ending it closes the socket. */
  loginSessionId: string;
  authed: boolean;
  openedAt: number;
  /** Text or undecodable frames in a row (PROTOCOL.md, decision 3). */
  badFrames: number;
}

const cache = new WeakMap<WebSocket, SocketState>();

export function socketState(ws: WebSocket): SocketState {
  let state = cache.get(ws);
  if (!state) {
    state = ws.deserializeAttachment() as SocketState;
    cache.set(ws, state);
  }
  return state;
}

export function saveSocketState(ws: WebSocket, state: SocketState): void {
  ws.serializeAttachment(state);
  cache.set(ws, state);
}

/** Sends a frame; a socket that is already closing just drops it. */
export function sendFrame(ws: WebSocket, bytes: Uint8Array): void {
  try {
    ws.send(bytes);
  } catch {
    // The peer went away between our read of the socket list and this send.
  }
}

export function closeSocket(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Already closed.
  }
}
