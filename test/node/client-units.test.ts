// The client SDK's pure parts (no server): the backoff curve, the typed emitter, the store, option
// checks, decoding of signal pushes, media message contents, and that plain Node 22 imports `edge-im/client` without a
// bundler or the `ws` package.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  Backoff,
  CommandType,
  defaultWsUrl,
  fileContent,
  formatOf,
  fullJitterDelay,
  imageContent,
  readFileContent,
  readImageContent,
  IMClient,
  MemoryStore,
  TypedEmitter,
  type Frame,
} from "edge-im/client";
import { ConversationStream } from "../../src/client/conversation-stream.ts";
import { dispatchSignal } from "../../src/client/signals.ts";
import { im } from "../../src/protocol/generated/im.js";
import { sdkMessage } from "./helpers/sdk-messages.ts";

describe("backoff with full jitter", () => {
  it("draws each delay uniformly below min(max, base·2^n)", () => {
    const options = { baseMs: 100, maxMs: 1_000 };
    expect([0, 1, 2, 3, 4, 10].map((n) => fullJitterDelay(n, options, () => 0.999999))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    expect(fullJitterDelay(5, options, () => 0)).toBe(0);
  });

  it("walks up the curve and starts again after a reset", () => {
    const backoff = new Backoff({ baseMs: 10, maxMs: 80 }, () => 0.5);
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([
      5, 10, 20, 40, 40,
    ]);
    expect(backoff.count).toBe(5);
    backoff.reset();
    expect(backoff.next()).toBe(5);
    expect(() => new Backoff({ baseMs: 0, maxMs: 1 })).toThrow(RangeError);
  });
});

describe("TypedEmitter", () => {
  class Emitter extends TypedEmitter<{ ping: number; pong: string }> {
    errors: unknown[] = [];
    fire<K extends "ping" | "pong">(event: K, payload: { ping: number; pong: string }[K]) {
      this.emit(event, payload);
    }
    protected override onListenerError(_event: "ping" | "pong", error: unknown) {
      this.errors.push(error);
    }
  }

  it("delivers typed payloads, unsubscribes, and keeps going past a throwing listener", async () => {
    const emitter = new Emitter();
    const seen: number[] = [];
    emitter.on("ping", () => {
      throw new Error("boom");
    });
    const off = emitter.on("ping", (n) => seen.push(n));
    const once: string[] = [];
    emitter.once("pong", (s) => once.push(s));
    const next = emitter.next("ping", (n) => n > 1);
    emitter.fire("ping", 1);
    emitter.fire("ping", 2);
    off();
    emitter.fire("ping", 3);
    emitter.fire("pong", "a");
    emitter.fire("pong", "b");
    expect(seen).toEqual([1, 2]);
    expect(once).toEqual(["a"]);
    expect(await next).toBe(2);
    expect(emitter.errors).toHaveLength(3);
    expect(emitter.listenerCount("ping")).toBe(1);
  });
});

describe("MemoryStore", () => {
  const message = (seq: number) => sdkMessage(seq);

  it("keeps cursors and the newest messages, pages backwards and marks revokes", async () => {
    const store = new MemoryStore({ limitPerConversation: 4 });
    await store.saveMessages("single_a_b", [1, 2, 3].map(message), 3);
    await store.saveMessages("single_a_b", [4, 5].map(message), 5);
    expect(await store.loadCursors()).toEqual(new Map([["single_a_b", 5]]));
    expect((await store.getMessages("single_a_b")).map((m) => m.seq)).toEqual([2, 3, 4, 5]);
    expect((await store.getMessages("single_a_b", { beforeSeq: 5, limit: 2 })).map((m) => m.seq)).toEqual([
      3, 4,
    ]);
    await store.markRevoked("single_a_b", "id-4", "a", 99);
    const [revoked] = await store.getMessages("single_a_b", { beforeSeq: 5, limit: 1 });
    expect(revoked).toMatchObject({ seq: 4, isRevoked: true, revokedBy: "a", revokedTime: 99, text: "" });
    await store.clear();
    expect(await store.loadCursors()).toEqual(new Map());
  });

  it("merges an older page from history in seq order, replacing what it had, never moving the cursor down", async () => {
    const store = new MemoryStore();
    await store.saveMessages("single_a_b", [5, 6, 7].map(message), 7);
    await store.saveMessages(
      "single_a_b",
      [{ ...message(6), status: 3 }, ...[2, 3].map(message)].sort((x, y) => x.seq - y.seq),
      0,
    );
    const stored = await store.getMessages("single_a_b");
    expect(stored.map((m) => m.seq)).toEqual([2, 3, 5, 6, 7]);
    expect(stored.find((m) => m.seq === 6)?.status).toBe(3);
    expect(await store.loadCursors()).toEqual(new Map([["single_a_b", 7]]));
    await store.saveMessages("single_a_b", [8].map(message), 8);
    expect((await store.getMessages("single_a_b", { limit: 2 })).map((m) => m.seq)).toEqual([7, 8]);
  });
});

describe("options", () => {
  it("derives the WebSocket URL from the API URL and refuses nonsense", () => {
    expect(defaultWsUrl("https://im.example.com/")).toBe("wss://im.example.com/ws");
    expect(defaultWsUrl("http://127.0.0.1:8787/base")).toBe("ws://127.0.0.1:8787/base/ws");
    expect(() => new IMClient({ apiUrl: "http://x", syncPageSize: 501 })).toThrow(RangeError);
    expect(() => new IMClient({ apiUrl: "http://x", ackTimeoutMs: 0 })).toThrow(RangeError);
    expect(() => new IMClient({ apiUrl: "http://x", maxResends: -1 })).toThrow(RangeError);
  });

  it("refuses to connect or send before a login", async () => {
    const client = new IMClient({ apiUrl: "http://127.0.0.1:9" });
    await expect(client.connect()).rejects.toMatchObject({ kind: "connection" });
    await expect(client.sendText("bob", "hi")).rejects.toMatchObject({ kind: "connection" });
  });
});

describe("packaging", () => {
  it("imports in plain Node 22 (type stripping, global WebSocket, no ws package)", () => {
    const script = [
      'const sdk = await import("edge-im/client");',
      'const client = new sdk.IMClient({ apiUrl: "http://127.0.0.1:9" });',
      "console.log(typeof sdk.IMClient, client.state, typeof WebSocket);",
    ].join("\n");
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: import.meta.dirname,
      encoding: "utf8",
    });
    expect(out.trim()).toBe("function idle function");
  });
});

const pb = im.protocol;

describe("signal pushes", () => {
  const frame = (command: number, body: Uint8Array): Frame => ({ command, sequence: 0, body });

  it("decodes receipt, revoke, typing and presence pushes into their events", () => {
    const seen: unknown[] = [];
    const on = {
      receipt: (e: unknown) => seen.push(["receipt", e]),
      revoke: (e: unknown) => seen.push(["revoke", e]),
      typing: (e: unknown) => seen.push(["typing", e]),
      presence: (e: unknown) => seen.push(["presence", e]),
    };
    const frames = [
      frame(
        CommandType.CMD_READ_RECEIPT_PUSH,
        pb.ReadReceiptPush.encode({
          serverMsgIds: ["m1"],
          conversationId: "single_a_b",
          userId: "b",
          readTime: 7,
        }).finish(),
      ),
      frame(
        CommandType.CMD_REVOKE_MSG_PUSH,
        pb.RevokeMessagePush.encode({
          serverMsgId: "m1",
          conversationId: "single_a_b",
          revokedBy: "a",
          revokedTime: 8,
        }).finish(),
      ),
      frame(
        CommandType.CMD_TYPING_STATUS_PUSH,
        pb.TypingStatusPush.encode({ conversationId: "single_a_b", userId: "b", status: 1 }).finish(),
      ),
      frame(
        CommandType.CMD_STATUS_CHANGE_PUSH,
        pb.StatusChangePush.encode({
          status: { userId: "b", online: true, platforms: ["web"], lastSeen: 9 },
        }).finish(),
      ),
    ];
    expect(frames.map((f) => dispatchSignal(f, on))).toEqual([true, true, true, true]);
    expect(dispatchSignal(frame(CommandType.CMD_PUSH_MSG, new Uint8Array()), on)).toBe(false);
    expect(seen).toEqual([
      ["receipt", { conversationId: "single_a_b", userId: "b", serverMsgIds: ["m1"], readTime: 7 }],
      ["revoke", { conversationId: "single_a_b", serverMsgId: "m1", revokedBy: "a", revokedTime: 8 }],
      ["typing", { conversationId: "single_a_b", userId: "b", typing: true }],
      ["presence", { userId: "b", online: true, platforms: ["web"], lastSeen: 9 }],
    ]);
  });
});

describe("ConversationStream", () => {
  const incoming = (seq: number) => ({
    message: sdkMessage(seq, {
      clientMsgId: "",
      content: new Uint8Array(),
      text: "",
      sendTime: 0,
      serverTime: 0,
    }),
    pushed: true,
  });

  it("never asks for a range when a push arriving during a delivery was already in order", async () => {
    const delivered: number[] = [];
    const failures: unknown[] = [];
    const ranges: [number, number][] = [];
    const stream = new ConversationStream("single_a_b", 0, {
      fetchRange: async (_id, start, end) => {
        ranges.push([start, end]);
        return { messages: [], endSeq: start, hasMore: false };
      },
      deliver: async (_id, batch) => {
        delivered.push(...batch.map((item) => item.message.seq));
        await new Promise((resolve) => setTimeout(resolve, 5)); // a slow store
      },
      gapFailed: (_id, error) => failures.push(error),
    });
    // Seq 2 arrives while seq 1 is being stored: in order, just queued behind it.
    const first = stream.offer([incoming(1)]);
    await new Promise((resolve) => setTimeout(resolve, 1));
    await stream.offer([incoming(2)]);
    await first;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ranges).toEqual([]);
    expect(failures).toEqual([]);
    expect(delivered).toEqual([1, 2]);
    expect(stream.cursor).toBe(2);
    await stream.offer([incoming(3)]);
    expect(delivered).toEqual([1, 2, 3]);
    expect(stream.cursor).toBe(3);
  });
});

describe("media message contents", () => {
  const url = "https://im.example.com/files/0123456789abcdef0123456789abcdef.png";

  it("writes the iOS SDK's image and file JSON with every key", () => {
    expect(JSON.parse(imageContent({ url, size: 1234, width: 640.4, height: 480 }))).toEqual({
      url,
      thumbnailUrl: "",
      width: 640,
      height: 480,
      size: 1234,
      format: "png",
      localPath: "",
      thumbnailPath: "",
    });
    const bin = url.replace(".png", ".bin");
    expect(JSON.parse(fileContent({ url: bin, size: 9, fileName: "Notes.TXT" }))).toEqual({
      url: bin,
      fileName: "Notes.TXT",
      size: 9,
      format: "txt",
      localPath: "",
    });
    expect(formatOf(`${url}?v=1`)).toBe("png");
  });

  it("reads only contents whose url is http(s)", () => {
    expect(readImageContent(imageContent({ url, size: 1, width: 2, height: 3 }))).toMatchObject({
      url,
      width: 2,
    });
    for (const text of ["", "not json", "[]", '{"url":"javascript:alert(1)"}', '{"url":42}'])
      expect(readImageContent(text), text).toBeNull();
    expect(readFileContent('{"url":"data:text/html,hi","fileName":"x"}')).toBeNull();
    // Missing or mistyped keys fall back to empty values instead of failing the message.
    expect(readFileContent(`{"url":"${url}","size":"big"}`)).toEqual({
      url,
      fileName: "",
      size: 0,
      format: "",
      localPath: "",
    });
  });
});
