// The SDK's TCP framing: a 16-byte big-endian header (magic, version, flags, command, sequence,
// body length, CRC-16 of bytes 0-13) followed by the bare protobuf body (IMPacket.swift).
import { crc16 } from "./crc16.ts";
import { MAX_BODY_BYTES } from "./limits.ts";

export const HEADER_BYTES = 16;
export const MAGIC = 0xef89;
export const VERSION = 1;
/** The header bytes the CRC covers: everything before the CRC itself. */
const CRC_COVERS = 14;

export interface TcpFrame {
  command: number;
  sequence: number;
  body: Uint8Array;
}

/** Why a stream was given up: each is fatal in the SDK's decoder too (IMPacketCodec.swift). */
export type CorruptReason = "magic" | "version" | "crc" | "too-large";

export class CorruptStreamError extends Error {
  readonly reason: CorruptReason;
  constructor(reason: CorruptReason) {
    super(`corrupt stream: ${reason}`);
    this.reason = reason;
  }
}

/** One frame: header and body in one buffer, ready for a single socket write. */
export function encodeTcpFrame(command: number, sequence: number, body: Uint8Array): Buffer {
  if (body.byteLength > MAX_BODY_BYTES) throw new RangeError(`body of ${body.byteLength} bytes`);
  const frame = Buffer.allocUnsafe(HEADER_BYTES + body.byteLength);
  frame.writeUInt16BE(MAGIC, 0);
  frame.writeUInt8(VERSION, 2);
  frame.writeUInt8(0, 3);
  frame.writeUInt16BE(command, 4);
  frame.writeUInt32BE(sequence >>> 0, 6);
  frame.writeUInt32BE(body.byteLength, 10);
  frame.writeUInt16BE(crc16(frame, 0, CRC_COVERS), 14);
  frame.set(body, HEADER_BYTES);
  return frame;
}

/**
 * Splits a TCP byte stream into frames. Memory is bounded by one header and one body of at most
 * MAX_BODY_BYTES; each byte is copied once. Throws CorruptStreamError, after which the stream is lost.
 */
export class FrameDecoder {
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  private body: Buffer | null = null;
  private bodyFill = 0;
  private command = 0;
  private sequence = 0;

  push(chunk: Uint8Array): TcpFrame[] {
    const frames: TcpFrame[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.body === null) {
        const take = Math.min(HEADER_BYTES - this.headerFill, chunk.length - offset);
        this.header.set(chunk.subarray(offset, offset + take), this.headerFill);
        this.headerFill += take;
        offset += take;
        if (this.headerFill < HEADER_BYTES) break;
        this.body = Buffer.allocUnsafe(this.readHeader());
        this.bodyFill = 0;
      }
      const take = Math.min(this.body.length - this.bodyFill, chunk.length - offset);
      this.body.set(chunk.subarray(offset, offset + take), this.bodyFill);
      this.bodyFill += take;
      offset += take;
      if (this.bodyFill === this.body.length) {
        frames.push({ command: this.command, sequence: this.sequence, body: this.body });
        this.body = null;
        this.bodyFill = 0;
        this.headerFill = 0;
      }
    }
    return frames;
  }

  /** Bytes of a frame received so far but not yet complete. */
  get buffered(): number {
    return this.headerFill + this.bodyFill;
  }

  /** Validates the complete header in the order the SDK does; returns the body length. */
  private readHeader(): number {
    const h = this.header;
    if (h.readUInt16BE(0) !== MAGIC) throw new CorruptStreamError("magic");
    if (h.readUInt8(2) !== VERSION) throw new CorruptStreamError("version");
    if (crc16(h, 0, CRC_COVERS) !== h.readUInt16BE(14)) throw new CorruptStreamError("crc");
    const length = h.readUInt32BE(10);
    if (length > MAX_BODY_BYTES) throw new CorruptStreamError("too-large");
    this.command = h.readUInt16BE(4);
    this.sequence = h.readUInt32BE(6);
    return length;
  }
}
