// A TCP client written from the SDK's source (IMPacket.swift, IMPacketCodec.swift, IMCRC16.swift,
// IMTCPTransport.swift), not from src/gateway: its own CRC and framing. Like the SDK it rebuilds each
// received header from its own command enum before checking the CRC (an unknown command becomes 0
// and fails the check), treats a bad magic, version or CRC, a body over 1 MiB or a buffer over 2 MiB
// as a corrupt stream and drops the connection, numbers requests from 1, restarts at 1 after a
// successful AUTH, matches responses by header sequence, and heartbeats with an empty body.
import { connect, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import { im } from "../../../src/protocol/generated/im.js";

export const pb = im.protocol;
export const Cmd = im.protocol.CommandType;
export const Err = im.protocol.ErrorCode;

/** IMCommandType's raw values, copied from IMPacket.swift. */
const SDK_COMMAND_TYPE = new Set([
  0, 1, 2, 3, 4, 5, 6, 100, 101, 102, 103, 104, 200, 201, 202, 203, 204, 205, 206, 207, 300, 301, 302, 303,
  304, 400, 401, 402, 500, 501, 502, 600, 601,
]);
const MAGIC = 0xef89;
const VERSION = 1;
const HEADER = 16;
/** IMPacketCodecConfig defaults. */
const MAX_PACKET = 1024 * 1024;
const MAX_BUFFER = 2 * 1024 * 1024;

/** IMCRC16.calculate, bit by bit (the SDK uses a table; the result is the same). */
export function sdkCrc16(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** IMPacketHeader(command:sequence:bodyLength:flags:).encode(), then the body. */
export function sdkPacket(command: number, sequence: number, body: Uint8Array, flags = 0): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt16BE(MAGIC, 0);
  header.writeUInt8(VERSION, 2);
  header.writeUInt8(flags, 3);
  header.writeUInt16BE(command, 4);
  header.writeUInt32BE(sequence, 6);
  header.writeUInt32BE(body.byteLength, 10);
  header.writeUInt16BE(sdkCrc16(header.subarray(0, 14)), 14);
  return Buffer.concat([header, body]);
}

export interface Packet {
  command: number;
  sequence: number;
  body: Uint8Array;
}

type Encoder<T> = { encode(message: T): { finish(): Uint8Array } };
type Decoder<T> = { decode(bytes: Uint8Array): T };

export class SdkTcpClient {
  /** Set when the stream was judged corrupt (the SDK would disconnect and reconnect). */
  corruption: string | null = null;
  /** Every packet received, answers and pushes, in arrival order (as the SDK decoded them). */
  readonly received: Packet[] = [];
  /** Resolves when the TCP connection has closed. */
  readonly closed: Promise<void>;
  isClosed = false;

  private readonly socket: Socket;
  private buffer = Buffer.alloc(0);
  private sequence = 0;
  private readonly unmatched: Packet[] = [];
  private readonly pending = new Map<number, (p: Packet) => void>();
  private readonly waiters: { match: (p: Packet) => boolean; resolve: (p: Packet) => void }[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  /** `tls`: the CA to trust, for a `tcps://` server (the SDK's NWProtocolTLS). */
  static open(
    port: number,
    host = "127.0.0.1",
    tls?: { ca: string | Buffer; servername: string },
  ): Promise<SdkTcpClient> {
    return new Promise((resolve, reject) => {
      const socket = tls
        ? connectTls({ port, host, ca: tls.ca, servername: tls.servername })
        : connect({ port, host, noDelay: true });
      socket.once(tls ? "secureConnect" : "connect", () => resolve(new SdkTcpClient(socket)));
      socket.once("error", reject);
    });
  }

  /** Opens and authenticates as IMTCPTransport does; throws when AUTH_RSP is not a success. */
  static async connect(port: number, userId: string, token: string, platform = "iOS"): Promise<SdkTcpClient> {
    const client = await SdkTcpClient.open(port);
    const auth = await client.auth(userId, token, platform);
    if ((auth.errorCode ?? 0) !== Err.ERR_SUCCESS) {
      client.destroy();
      throw new Error(`auth failed: ${auth.errorCode} ${auth.errorMsg}`);
    }
    return client;
  }

  /** AUTH_REQ; on success the sequence restarts, as `sequenceGenerator.reset()` does. */
  async auth(userId: string, token: string, platform = "iOS"): Promise<im.protocol.AuthResponse> {
    const response = await this.request(
      Cmd.CMD_AUTH_REQ,
      pb.AuthRequest,
      { userId, token, platform },
      pb.AuthResponse,
    );
    if ((response.errorCode ?? 0) === Err.ERR_SUCCESS) this.sequence = 0;
    return response;
  }

  /** IMSequenceGenerator.next(): 1, 2, 3, … */
  private nextSequence(): number {
    this.sequence = this.sequence === 0xffffffff ? 1 : this.sequence + 1;
    return this.sequence;
  }

  post<T>(command: number, type: Encoder<T> | null, body: T): number {
    const sequence = this.nextSequence();
    this.socket.write(sdkPacket(command, sequence, type ? type.encode(body).finish() : new Uint8Array()));
    return sequence;
  }

  writeRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Any packet with the request's sequence completes it, whatever its command (as in the SDK). */
  async request<Req, Res>(
    command: number,
    type: Encoder<Req>,
    body: Req,
    decoder: Decoder<Res>,
    timeoutMs = 15_000,
  ): Promise<Res> {
    return decoder.decode((await this.requestPacket(command, type, body, timeoutMs)).body);
  }

  requestPacket<Req>(
    command: number,
    type: Encoder<Req> | null,
    body: Req,
    timeoutMs = 15_000,
  ): Promise<Packet> {
    const sequence = this.nextSequence();
    const answered = new Promise<Packet>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(sequence);
        reject(new Error(`no answer to command ${command} (seq ${sequence}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(sequence, (p) => {
        clearTimeout(timer);
        resolve(p);
      });
    });
    this.socket.write(sdkPacket(command, sequence, type ? type.encode(body).finish() : new Uint8Array()));
    return answered;
  }

  /** HEARTBEAT_REQ with an empty body, as sendHeartbeat() sends it. */
  async heartbeat(): Promise<Packet> {
    return this.requestPacket(Cmd.CMD_HEARTBEAT_REQ, null, null);
  }

  /** The next unmatched packet (a push) that satisfies `match`. */
  next(match: (p: Packet) => boolean, timeoutMs = 15_000): Promise<Packet> {
    const i = this.unmatched.findIndex(match);
    if (i >= 0) return Promise.resolve(this.unmatched.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (p: Packet) => {
          clearTimeout(timer);
          resolve(p);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no matching packet within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** The next `count` pushed messages (PUSH_MSG or BATCH_MSG). */
  async pushed(count: number, timeoutMs = 15_000): Promise<im.protocol.MessageInfo[]> {
    const out: im.protocol.MessageInfo[] = [];
    while (out.length < count) {
      const p = await this.next(
        (f) => f.command === Cmd.CMD_PUSH_MSG || f.command === Cmd.CMD_BATCH_MSG,
        timeoutMs,
      );
      if (p.command === Cmd.CMD_PUSH_MSG)
        out.push(pb.PushMessage.decode(p.body).message as im.protocol.MessageInfo);
      else
        out.push(
          ...pb.BatchMessages.decode(p.body).messages.map((m) => m.message as im.protocol.MessageInfo),
        );
    }
    return out;
  }

  /** Stops reading (the kernel buffers fill, then the sender's). */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** Messages pushed (PUSH_MSG and BATCH_MSG) and not yet taken by `pushed` or `next`. */
  pushCount(): number {
    let count = 0;
    for (const p of this.unmatched) {
      if (p.command === Cmd.CMD_PUSH_MSG) count++;
      if (p.command === Cmd.CMD_BATCH_MSG) count += pb.BatchMessages.decode(p.body).messages.length;
    }
    return count;
  }

  close(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** IMPacketCodec.decode: append, check the buffer bound, then cut every complete packet. */
  private receive(chunk: Buffer): void {
    if (this.corruption) return;
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (this.buffer.length > MAX_BUFFER) return this.corrupt(`buffer overflow: ${this.buffer.length}`);
    while (this.buffer.length >= HEADER) {
      const h = this.buffer;
      if (h.readUInt16BE(0) !== MAGIC) return this.corrupt("magic");
      if (h.readUInt8(2) !== VERSION) return this.corrupt("version");
      const raw = h.readUInt16BE(4);
      // The SDK rebuilds the header from IMCommandType(rawValue:) ?? .unknown, then compares the CRC.
      const command = SDK_COMMAND_TYPE.has(raw) ? raw : 0;
      const rebuilt = Buffer.from(h.subarray(0, 14));
      rebuilt.writeUInt16BE(command, 4);
      if (sdkCrc16(rebuilt) !== h.readUInt16BE(14)) return this.corrupt(`crc (command ${raw})`);
      const length = h.readUInt32BE(10);
      if (length > MAX_PACKET) return this.corrupt(`packet too large: ${length}`);
      if (h.length < HEADER + length) break;
      const packet = {
        command,
        sequence: h.readUInt32BE(6),
        body: new Uint8Array(h.subarray(HEADER, HEADER + length)),
      };
      this.buffer = h.subarray(HEADER + length);
      this.dispatch(packet);
    }
  }

  /** handlePacket: a pending request by sequence first, otherwise a push. */
  private dispatch(packet: Packet): void {
    this.received.push(packet);
    const pending = this.pending.get(packet.sequence);
    if (pending) {
      this.pending.delete(packet.sequence);
      return pending(packet);
    }
    const i = this.waiters.findIndex((w) => w.match(packet));
    if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(packet);
    else this.unmatched.push(packet);
  }

  private corrupt(reason: string): void {
    this.corruption = reason;
    this.socket.destroy();
  }
}
