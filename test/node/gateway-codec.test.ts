// The gateway's framing against the SDK-faithful client's independent implementation.
import { describe, expect, it } from "vitest";
import { crc16 } from "../../src/gateway/crc16.ts";
import { CorruptStreamError, encodeTcpFrame, FrameDecoder } from "../../src/gateway/frame-codec.ts";
import { MAX_BODY_BYTES } from "../../src/gateway/limits.ts";
import { sdkCrc16, sdkPacket } from "./helpers/sdk-tcp-client.ts";

const ascii = (text: string) => new TextEncoder().encode(text);

describe("gateway frame codec", () => {
  it("computes CRC-16/CCITT-FALSE: the check value of 123456789 is 0x29B1", () => {
    expect(crc16(ascii("123456789"))).toBe(0x29b1);
    expect(sdkCrc16(ascii("123456789"))).toBe(0x29b1);
  });

  it("encodes exactly the bytes the SDK encodes", () => {
    const body = ascii("hello");
    expect(encodeTcpFrame(201, 7, body)).toEqual(sdkPacket(201, 7, body));
    expect(encodeTcpFrame(5, 0xfffffffe, new Uint8Array())).toEqual(
      sdkPacket(5, 0xfffffffe, new Uint8Array()),
    );
  });

  it("decodes frames split at every byte and frames glued together", () => {
    const frames = [
      sdkPacket(200, 1, ascii("one")),
      sdkPacket(5, 2, new Uint8Array()),
      sdkPacket(203, 3, ascii("x")),
    ];
    const stream = Buffer.concat(frames);
    const decoder = new FrameDecoder();
    const out = [];
    for (let i = 0; i < stream.length; i++) out.push(...decoder.push(stream.subarray(i, i + 1)));
    expect(out.map((f) => [f.command, f.sequence, Buffer.from(f.body).toString()])).toEqual([
      [200, 1, "one"],
      [5, 2, ""],
      [203, 3, "x"],
    ]);
    expect(new FrameDecoder().push(stream)).toHaveLength(3);
  });

  it("rejects a wrong magic, a wrong version, a bad CRC and a body over 1 MiB", () => {
    const good = sdkPacket(200, 1, ascii("body"));
    const reason = (bytes: Buffer) => {
      try {
        new FrameDecoder().push(bytes);
        return null;
      } catch (error) {
        return error instanceof CorruptStreamError ? error.reason : "other";
      }
    };
    const magic = Buffer.from(good);
    magic[0] = 0xab;
    const version = Buffer.from(good);
    version[2] = 2;
    const crc = Buffer.from(good);
    crc[15]! ^= 0xff;
    expect([reason(magic), reason(version), reason(crc)]).toEqual(["magic", "version", "crc"]);
    // A valid header announcing one byte more than the limit: refused before any body arrives.
    const header = sdkPacket(200, 1, new Uint8Array()).subarray(0, 16);
    const big = Buffer.from(header);
    big.writeUInt32BE(MAX_BODY_BYTES + 1, 10);
    big.writeUInt16BE(sdkCrc16(big.subarray(0, 14)), 14);
    expect(reason(big)).toBe("too-large");
    expect(reason(good)).toBeNull();
  });
});
