// Frame codec: one decode per inbound frame, one encode per outbound frame, over the generated
// static protobuf module (src/protocol/generated, made by `npm run gen:proto`).
import { im } from "./generated/im.js";

export const pb = im.protocol;
export const Cmd = im.protocol.CommandType;
export type Cmd = im.protocol.CommandType;
export const Err = im.protocol.ErrorCode;
export type Err = im.protocol.ErrorCode;
export type MessageInfo = im.protocol.MessageInfo.$Properties;

/** A decoded frame: the envelope's command and sequence plus the raw body, decoded later by type. */
export interface Frame {
  command: number;
  sequence: number;
  body: Uint8Array;
}

/** Decodes one WebSocketMessage; throws on malformed bytes. */
export function decodeFrame(bytes: Uint8Array): Frame {
  const frame = pb.WebSocketMessage.decode(bytes);
  return { command: frame.command, sequence: frame.sequence, body: frame.body };
}

/** Anything with a generated static `encode`. */
export interface Encoder<T> {
  encode(message: T): { finish(): Uint8Array };
}

/** Encodes a body and wraps it in a WebSocketMessage stamped with the sender's clock. */
export function encodeFrame<T>(command: Cmd, sequence: number, type: Encoder<T>, body: T): Uint8Array {
  return encodeRawFrame(command, sequence, type.encode(body).finish());
}

export function encodeRawFrame(command: Cmd, sequence: number, body: Uint8Array): Uint8Array {
  return pb.WebSocketMessage.encode({ command, sequence, body, timestamp: Date.now() }).finish();
}

export function errorNotice(code: Err, message: string, ref: Frame | null): Uint8Array {
  return encodeFrame(Cmd.CMD_UNKNOWN, 0, pb.ErrorNotice, {
    errorCode: code,
    errorMsg: message,
    refSequence: ref?.sequence ?? 0,
    refCommand: ref?.command ?? Cmd.CMD_UNKNOWN,
  });
}
export type ConversationMessages = im.protocol.ConversationMessages.$Properties;
