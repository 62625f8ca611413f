// encodedSizeBound cuts sync pages to the frame budget: it must never be below a message's real
// size inside a page (a frame over the SDK's limit), and should be close to it (a loose bound cuts a
// catch-up into more BATCH_SYNC rounds than it needs).
import { describe, expect, it } from "vitest";
import { pb } from "../../src/protocol/codec";
import {
  encodedSizeBound,
  MessageStatus,
  toMessageInfo,
  type StoredMessage,
} from "../../src/objects/message";

/** A message's bytes as one element of a repeated field (SyncRangeResponse.messages). */
function sizeInPage(m: StoredMessage): number {
  const alone = pb.SyncRangeResponse.encode({ messages: [] }).finish().length;
  return pb.SyncRangeResponse.encode({ messages: [toMessageInfo(m)] }).finish().length - alone;
}

let seed = 7;
function random(): number {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
}
function pick<T>(choices: readonly T[]): T {
  return choices[Math.floor(random() * choices.length)] as T;
}
function text(maxLength: number, alphabet: string): string {
  const units = [...alphabet];
  return Array.from({ length: Math.floor(random() * maxLength) }, () => pick(units)).join("");
}

const ASCII = 'abcdefghijklmnopqrstuvwxyz0123456789_-{}":,';
const ANY = ASCII + "éß中文字😀ü한";

function message(alphabet: string): StoredMessage {
  const group = random() < 0.5;
  const status = pick([undefined, MessageStatus.sent, MessageStatus.delivered, MessageStatus.read]);
  return {
    seq: Math.floor(random() * 2 ** 40),
    serverMsgId: "01J" + text(30, ASCII),
    clientMsgId: text(64, alphabet),
    conversationId: group ? `group_${text(64, ASCII)}` : `single_${text(64, ASCII)}_${text(64, ASCII)}`,
    conversationType: group ? 2 : pick([1, 4]),
    senderId: text(64, ASCII),
    receiverId: group ? "" : text(64, ASCII),
    groupId: group ? text(64, ASCII) : "",
    messageType: pick([0, 1, 2, 8, 100, -1]),
    content: new TextEncoder().encode(text(random() < 0.1 ? 40_000 : 300, alphabet)),
    sendTime: pick([0, Date.now(), -1]),
    serverTime: Date.now() - Math.floor(random() * 1e9),
    extra: text(200, alphabet),
    attachedInfo: text(100, alphabet),
    originSession: "s",
    isRevoked: random() < 0.2,
    revokedBy: random() < 0.2 ? text(64, ASCII) : "",
    revokedTime: random() < 0.2 ? Date.now() : 0,
    status,
    readBy:
      random() < 0.3 ? Array.from({ length: Math.floor(random() * 100) }, () => text(64, ASCII)) : undefined,
    readCount: random() < 0.3 ? Math.floor(random() * 2_000) : undefined,
  };
}

describe("encodedSizeBound", () => {
  it("is never below a message's size in a page, whatever its text", () => {
    for (let i = 0; i < 2_000; i++) {
      const m = message(ANY);
      expect(encodedSizeBound(m)).toBeGreaterThanOrEqual(sizeInPage(m));
    }
  });

  it("is within two bytes of the real size for ASCII text (the tag's allowance), so pages fill their budget", () => {
    for (let i = 0; i < 2_000; i++) {
      const m = message(ASCII);
      const real = sizeInPage(m);
      expect(encodedSizeBound(m)).toBeGreaterThanOrEqual(real);
      expect(encodedSizeBound(m)).toBeLessThanOrEqual(real + 1);
    }
  });
});
