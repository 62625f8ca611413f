// File upload and download end to end: the real `wrangler dev` (as `npm run dev` starts it) with its
// local R2 bucket, the SDK's raw upload, and an image message carrying the file's URL.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "./helpers/dev-server";
import { newAccount } from "./helpers/http-accounts";
import { Cmd, Err, NodeImClient, pb } from "./helpers/im-client";
import { account as sdkAccount, untilMessages } from "./helpers/sdk-harness";
import { MessageType, readFileContent, readImageContent } from "edge-im/client";

const MAX_BYTES = 12 * 1024 * 1024;
const HOURLY_BYTES = 32 * 1024 * 1024;
/** The default UPLOAD_ANON_PER_MINUTE. */
const ANON_PER_MINUTE = 30;

let server: DevServer;
beforeAll(async () => {
  // A smaller size limit and hourly byte budget than the defaults, so both can be crossed quickly.
  server = await startDevServer({
    vars: { UPLOAD_MAX_BYTES: String(MAX_BYTES), UPLOAD_ANON_BYTES_PER_HOUR: String(HOURLY_BYTES) },
  });
});
afterAll(async () => {
  await server?.stop();
});

interface UploadAnswer {
  code: number;
  message: string;
  data: string;
  url: string;
  file_id: string;
}

/** The SDK's IMFileManager.uploadFile: POST uploadBaseURL + "/upload", raw bytes, no token. */
async function sdkUpload(content: Uint8Array<ArrayBuffer>): Promise<UploadAnswer> {
  const response = await fetch(`${server.origin}/upload`, {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream" },
    body: content,
  });
  expect(response.status).toBe(200);
  expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
  const body = (await response.json()) as UploadAnswer;
  expect(body.code, body.message).toBe(0);
  return body;
}

const account = (name: string) => newAccount(server.origin, name);

describe("files against wrangler dev", () => {
  it("stores a 10 MB upload and serves it back byte-identical, whole and by range", async () => {
    const content = new Uint8Array(randomBytes(10 * 1024 * 1024));
    const { url } = await sdkUpload(content);
    expect(url.startsWith(`${server.origin}/files/`)).toBe(true);

    const head = await fetch(url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Length")).toBe(String(content.byteLength));
    const whole = new Uint8Array(await (await fetch(url)).arrayBuffer());
    expect(Buffer.compare(whole, content)).toBe(0);
    // The SDK's resumable download: HEAD, then GET with Range: bytes=N-.
    const rest = await fetch(url, { headers: { Range: "bytes=7000000-" } });
    expect(rest.status).toBe(206);
    expect(Buffer.compare(new Uint8Array(await rest.arrayBuffer()), content.subarray(7_000_000))).toBe(0);
  });

  it("answers every edge of the SDK's upload and download: multipart, 0 and 1 byte, over the limit, HEAD, ranges", async () => {
    // Each test speaks from its own address, so the per-address limits of one never touch another.
    const address = { "CF-Connecting-IP": "198.51.100.21" };
    const raw = (body: Uint8Array<ArrayBuffer>) =>
      fetch(`${server.origin}/upload`, {
        method: "POST",
        headers: { "Content-Type": "application/octet-stream", ...address },
        body,
      });

    const one = (await (await raw(new Uint8Array([0x42]))).json()) as UploadAnswer;
    expect(one.code).toBe(0);
    expect(new Uint8Array(await (await fetch(one.url)).arrayBuffer())).toEqual(new Uint8Array([0x42]));

    const empty = await raw(new Uint8Array(0));
    expect(empty.status).toBe(200);
    expect(await empty.json()).toMatchObject({ code: 400, message: expect.stringMatching(/empty/i) });

    const over = await raw(new Uint8Array(MAX_BYTES + 1));
    expect(await over.json()).toMatchObject({ code: 413 });

    const form = new FormData();
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...randomBytes(500)]);
    form.append("file", new Blob([png], { type: "image/png" }), "photo.png");
    const multipart = (await (
      await fetch(`${server.origin}/api/upload`, { method: "POST", headers: address, body: form })
    ).json()) as UploadAnswer;
    expect(multipart.code).toBe(0);
    expect(multipart.data).toBe(multipart.url);
    expect(multipart.url).toMatch(/\.png$/);

    const head = await fetch(multipart.url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Length")).toBe(String(png.byteLength));
    expect(head.headers.get("Content-Type")).toBe("image/png");
    expect(head.headers.get("ETag")).toBeTruthy();
    expect((await head.arrayBuffer()).byteLength).toBe(0);

    const range = async (header: string) => {
      const response = await fetch(multipart.url, { headers: { Range: header } });
      return {
        status: response.status,
        contentRange: response.headers.get("Content-Range"),
        bytes: new Uint8Array(await response.arrayBuffer()),
      };
    };
    const size = png.byteLength;
    expect(await range("bytes=0-0")).toEqual({
      status: 206,
      contentRange: `bytes 0-0/${size}`,
      bytes: png.subarray(0, 1),
    });
    expect(await range("bytes=100-199")).toEqual({
      status: 206,
      contentRange: `bytes 100-199/${size}`,
      bytes: png.subarray(100, 200),
    });
    expect(await range("bytes=-10")).toEqual({
      status: 206,
      contentRange: `bytes ${size - 10}-${size - 1}/${size}`,
      bytes: png.subarray(size - 10),
    });
    const past = await range(`bytes=${size}-`);
    expect(past.status).toBe(416);
    expect(past.contentRange).toBe(`bytes */${size}`);
  });

  it("bounds anonymous uploads per address: a count per minute and bytes per hour", async () => {
    const from = (ip: string, body: Uint8Array<ArrayBuffer>) =>
      fetch(`${server.origin}/upload`, {
        method: "POST",
        headers: { "Content-Type": "application/octet-stream", "CF-Connecting-IP": ip },
        body,
      }).then((r) => r.json() as Promise<UploadAnswer>);

    for (let i = 0; i < ANON_PER_MINUTE; i++)
      expect((await from("198.51.100.31", new Uint8Array([i + 1]))).code).toBe(0);
    const tooMany = await from("198.51.100.31", new Uint8Array([1]));
    expect(tooMany).toMatchObject({ code: 429, message: expect.stringMatching(/try again/) });
    expect((await from("198.51.100.32", new Uint8Array([1]))).code).toBe(0); // another address is not held

    const ten = new Uint8Array(10 * 1024 * 1024);
    expect((await from("198.51.100.33", ten)).code).toBe(0);
    expect((await from("198.51.100.33", ten)).code).toBe(0);
    expect((await from("198.51.100.33", ten)).code).toBe(0);
    expect(await from("198.51.100.33", ten)).toMatchObject({ code: 429 }); // 40 MiB > 32 MiB an hour
  });

  it("carries an uploaded image from one user to another in an image message", async () => {
    const alice = await account("alice");
    const bob = await account("bob");
    const a = await NodeImClient.connect(server.wsOrigin, alice.userId, alice.token);
    const b = await NodeImClient.connect(server.wsOrigin, bob.userId, bob.token);
    try {
      const png = new Uint8Array([
        ...[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
        ...randomBytes(50_000),
      ]);
      const { url } = await sdkUpload(png);
      expect(url).toMatch(/\.png$/);
      // IMImageMessageContent, every key present, as the SDK's JSONEncoder writes it.
      const content = {
        url,
        thumbnailUrl: "",
        width: 640,
        height: 480,
        size: png.byteLength,
        format: "png",
        localPath: "",
        thumbnailPath: "",
      };
      const conversationId =
        alice.userId < bob.userId
          ? `single_${alice.userId}_${bob.userId}`
          : `single_${bob.userId}_${alice.userId}`;
      const ack = await a.request(
        Cmd.CMD_SEND_MSG_REQ,
        pb.SendMessageRequest,
        {
          message: {
            clientMsgId: crypto.randomUUID(),
            conversationId,
            senderId: alice.userId,
            receiverId: bob.userId,
            messageType: 2,
            content: new TextEncoder().encode(JSON.stringify(content)),
            sendTime: Date.now(),
          },
        },
        Cmd.CMD_SEND_MSG_RSP,
        pb.SendMessageResponse,
      );
      expect(ack.errorCode ?? 0).toBe(Err.ERR_SUCCESS);

      const [received] = await b.pushed(1);
      expect(received?.messageType).toBe(2);
      const image = JSON.parse(new TextDecoder().decode(received!.content)) as typeof content;
      expect(image).toEqual(content);
      // The receiver downloads it with a plain GET and no auth, as IMFileManager does.
      const downloaded = await fetch(image.url);
      expect(downloaded.headers.get("Content-Type")).toBe("image/png");
      expect(Buffer.compare(new Uint8Array(await downloaded.arrayBuffer()), png)).toBe(0);
    } finally {
      a.close();
      b.close();
    }
  });

  it("uploads with the TS client's token and sends image and file messages the receiver can read", async () => {
    const alice = await sdkAccount(server, "alice");
    const bob = await sdkAccount(server, "bob");
    await alice.client.connect();
    await bob.client.connect();
    try {
      const gif = new Uint8Array([...new TextEncoder().encode("GIF89a"), ...randomBytes(2000)]);
      const image = await alice.client.uploadFile(gif);
      expect(image).toMatchObject({ size: gif.byteLength });
      expect(image.url).toMatch(/\.gif$/);
      await alice.client.sendImage({ to: bob.userId }, { ...image, width: 10, height: 20 });

      const notes = new Blob(["meeting notes\n"], { type: "text/plain" });
      const file = await alice.client.uploadFile(notes, { fileName: "notes.txt" });
      expect(file.url).toMatch(/\.txt$/);
      await alice.client.sendFile({ to: bob.userId }, { ...file, fileName: "notes.txt" });

      const conversationId = bob.client.conversationWith(alice.userId);
      await untilMessages(bob, conversationId, 2);
      const [imageMessage, fileMessage] = bob.timeline;
      expect(imageMessage?.messageType).toBe(MessageType.image);
      expect(JSON.parse(imageMessage!.text)).toEqual({
        url: image.url,
        thumbnailUrl: "",
        width: 10,
        height: 20,
        size: gif.byteLength,
        format: "gif",
        localPath: "",
        thumbnailPath: "",
      });
      const received = readImageContent(imageMessage!.text)!;
      expect(Buffer.compare(new Uint8Array(await (await fetch(received.url)).arrayBuffer()), gif)).toBe(0);
      expect(fileMessage?.messageType).toBe(MessageType.file);
      expect(readFileContent(fileMessage!.text)).toEqual({
        url: file.url,
        fileName: "notes.txt",
        size: notes.size,
        format: "txt",
        localPath: "",
      });
      expect(await (await fetch(file.url)).text()).toBe("meeting notes\n");
    } finally {
      alice.client.disconnect();
      bob.client.disconnect();
    }
  });
});
