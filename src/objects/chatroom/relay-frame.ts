// What a relay's frame handler gets: the frame, its socket and listener, and the relay's services.
import type { ChatroomSettings } from "../../config/settings";
import { Err, type Frame } from "../../protocol/codec";
import type { RoomStub } from "./types";
import type { Listener } from "./listener-state";

export interface RelayServices {
  env: Env;
  settings: ChatroomSettings;
  socketRequestsPerSecond: number;
  socketRequestBurst: number;
  roomId: string;
  /** A new stub of the room (made from its kept id: object-ids.ts says why no stub is kept). */
  room(): RoomStub;
}

export interface RelayFrame extends RelayServices {
  ws: WebSocket;
  frame: Frame;
  listener: Listener;
}

/** A refusal of a request, answered with the request's own response type and this code. */
export class ChatroomRequestError extends Error {
  constructor(
    readonly code: Err,
    message: string,
  ) {
    super(message);
    this.name = "ChatroomRequestError";
  }
}

/** Decodes the frame's body as `type`; a malformed body is the client's error, not ours. */
export function decodeBody<T>(fc: RelayFrame, type: { decode(bytes: Uint8Array): T }): T {
  try {
    return type.decode(fc.frame.body);
  } catch {
    throw new ChatroomRequestError(Err.ERR_INVALID_PARAM, `malformed body for command ${fc.frame.command}`);
  }
}
