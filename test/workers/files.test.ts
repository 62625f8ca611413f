import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { storeRaw } from "../../src/files/upload";
import { ApiError } from "../../src/http/envelope";
import { createApp } from "../../src/worker/app";
import { ORIGIN, newUser } from "./helpers/http";

interface UploadBody {
  code: number;
  message: string;
  data?: string | null;
  url?: string;
  file_id?: string;
}

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82]);

function bytes(size: number, seed = 7): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

let addressCounter = 0;
/** A fresh client address per test, so the anonymous limits of one test never touch another. */
const freshAddress = () => `198.51.100.${++addressCounter}-${Date.now()}`;

interface UploadOptions {
  path?: string;
  token?: string;
  headers?: Record<string, string>;
  /** Other settings for this call: the request then goes through a fresh app with them. */
  vars?: Record<string, string>;
}

async function send(request: Request, vars?: Record<string, string>): Promise<Response> {
  if (!vars) return exports.default.fetch(request);
  const ctx = createExecutionContext();
  const response = await createApp().fetch(request, { ...env, ...vars } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

async function upload(body: BodyInit | null, options: UploadOptions = {}) {
  const headers: Record<string, string> = {
    "Content-Type": "application/octet-stream",
    "CF-Connecting-IP": freshAddress(),
    ...options.headers,
  };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const response = await send(
    new Request(`${ORIGIN}${options.path ?? "/upload"}`, { method: "POST", headers, body }),
    options.vars,
  );
  expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
  return { status: response.status, body: (await response.json()) as UploadBody };
}

async function uploaded(body: BodyInit, options: UploadOptions = {}) {
  const result = await upload(body, options);
  expect(result.body.code, result.body.message).toBe(0);
  return { url: result.body.url!, fileId: result.body.file_id!, path: new URL(result.body.url!).pathname };
}

const download = (path: string, headers: Record<string, string> = {}, method = "GET") =>
  exports.default.fetch(`${ORIGIN}${path}`, { method, headers });

async function storedKeys(): Promise<Set<string>> {
  const keys = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await env.FILES.list({ cursor });
    for (const object of page.objects) keys.add(object.key);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return keys;
}

/** A body that sends `chunks` and then breaks, as a client that goes away halfway. */
function brokenStream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[i++];
      if (chunk) controller.enqueue(chunk);
      else controller.error(new Error("connection reset"));
    },
  });
}

/** A body of unknown length (no Content-Length) that sends `chunks` and ends. */
function chunkedStream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[i++];
      if (chunk) controller.enqueue(chunk);
      else controller.close();
    },
  });
}

describe("POST /upload", () => {
  it("stores the SDK's raw body and answers the combined body both SDK parsers accept", async () => {
    const content = bytes(4096);
    const result = await upload(content);
    expect(result.status).toBe(200);
    const { url, file_id } = result.body;
    expect(result.body).toEqual({ code: 0, message: "success", data: url, url, file_id });
    expect(url).toMatch(new RegExp(`^${ORIGIN}/files/${file_id}\\.bin$`));
    expect(file_id).toMatch(/^[0-9a-f]{32}$/);
    const response = await download(new URL(url!).pathname);
    expect(response.status).toBe(200);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(content);
  });

  it("answers the same way on /api/upload", async () => {
    const { url } = await uploaded(PNG, { path: "/api/upload" });
    expect(url).toMatch(/\/files\/[0-9a-f]{32}\.png$/);
  });

  it("takes the file part of a multipart form, with the extension of its file name", async () => {
    const form = new FormData();
    form.append("file", new File([bytes(1000)], "Report.PDF", { type: "application/pdf" }));
    const response = await send(
      new Request(`${ORIGIN}/api/upload`, {
        method: "POST",
        headers: { "CF-Connecting-IP": freshAddress() },
        body: form,
      }),
    );
    const body = (await response.json()) as UploadBody;
    expect(body.code, body.message).toBe(0);
    expect(body.data).toBe(body.url);
    expect(body.url).toMatch(/\.pdf$/);
    const file = await download(new URL(body.url!).pathname);
    expect(file.headers.get("Content-Type")).toBe("application/pdf");
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(bytes(1000));
  });

  it("guesses the extension of a multipart file without one from its bytes", async () => {
    const form = new FormData();
    form.append("file", new File([PNG], "blob"));
    const response = await send(
      new Request(`${ORIGIN}/upload`, {
        method: "POST",
        headers: { "CF-Connecting-IP": freshAddress() },
        body: form,
      }),
    );
    expect(((await response.json()) as UploadBody).url).toMatch(/\.png$/);
  });

  it("refuses a form without a file part, storing nothing", async () => {
    const before = await storedKeys();
    const form = new FormData();
    form.append("other", "text");
    const response = await send(
      new Request(`${ORIGIN}/upload`, {
        method: "POST",
        headers: { "CF-Connecting-IP": freshAddress() },
        body: form,
      }),
    );
    const body = (await response.json()) as UploadBody;
    expect(body.code).not.toBe(0);
    expect(body.message).toMatch(/file/);
    expect(await storedKeys()).toEqual(before);
  });

  it("guesses the extension from the magic bytes", async () => {
    const ftyp = (brand: string) =>
      new Uint8Array([0, 0, 0, 24, ...new TextEncoder().encode(`ftyp${brand}`), 0, 0, 0, 0]);
    const ascii = (text: string, size = 16) => {
      const out = new Uint8Array(size);
      out.set(new TextEncoder().encode(text));
      return out;
    };
    const cases: [Uint8Array, string, string][] = [
      [new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16]), "jpg", "image/jpeg"],
      [PNG, "png", "image/png"],
      [ascii("GIF89a"), "gif", "image/gif"],
      [ascii("RIFF\0\0\0\0WEBPVP8 "), "webp", "image/webp"],
      [ftyp("heic"), "heic", "image/heic"],
      [ftyp("isom"), "mp4", "video/mp4"],
      [ftyp("qt  "), "mov", "video/quicktime"],
      [ftyp("M4A "), "m4a", "audio/mp4"],
      [new Uint8Array([0xff, 0xf1, 0x50, 0x80]), "aac", "audio/aac"],
      [ascii("ID3\x04"), "mp3", "audio/mpeg"],
      [new Uint8Array([0xff, 0xfb, 0x90, 0x64]), "mp3", "audio/mpeg"],
      [ascii("RIFF\0\0\0\0WAVEfmt "), "wav", "audio/wav"],
      [ascii("%PDF-1.7"), "pdf", "application/pdf"],
      [ascii("PK\x03\x04"), "zip", "application/zip"],
      [ascii("hello, world"), "bin", "application/octet-stream"],
    ];
    for (const [content, ext, contentType] of cases) {
      const { path } = await uploaded(content);
      expect(path, ext).toMatch(new RegExp(`\\.${ext}$`));
      const response = await download(path, {}, "HEAD");
      expect(response.headers.get("Content-Type"), ext).toBe(contentType);
    }
  });

  it("stores a 1-byte file", async () => {
    const { path } = await uploaded(new Uint8Array([42]));
    const response = await download(path);
    expect(response.headers.get("Content-Length")).toBe("1");
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array([42]));
  });

  it("refuses an empty body in the envelope and stores nothing", async () => {
    const before = await storedKeys();
    for (const body of [new Uint8Array(0), null]) {
      const result = await upload(body);
      expect(result.body.code).not.toBe(0);
      expect(result.body.message).toBe("The file is empty");
    }
    const form = new FormData();
    form.append("file", new File([], "empty.txt"));
    const response = await send(
      new Request(`${ORIGIN}/upload`, {
        method: "POST",
        headers: { "CF-Connecting-IP": freshAddress() },
        body: form,
      }),
    );
    expect(((await response.json()) as UploadBody).message).toBe("The file is empty");
    expect(await storedKeys()).toEqual(before);
  });

  it("refuses a body over UPLOAD_MAX_BYTES, by Content-Length or while streaming, and stores nothing", async () => {
    const vars = { UPLOAD_MAX_BYTES: "1000" };
    const before = await storedKeys();
    expect((await uploaded(bytes(1000), { vars })).url).toBeTruthy();
    const afterExact = await storedKeys();
    expect(afterExact.size).toBe(before.size + 1);

    const declared = await upload(bytes(1001), { vars });
    expect(declared.body.code).not.toBe(0);
    expect(declared.body.message).toBe("The file is too large: the limit is 1000 bytes");

    // No Content-Length: the body is counted as it streams.
    const streamed = await upload(chunkedStream([bytes(600), bytes(600)]), { vars });
    expect(streamed.body.code).not.toBe(0);
    expect(streamed.body.message).toBe("The file is too large: the limit is 1000 bytes");

    const form = new FormData();
    form.append("file", new File([bytes(1001)], "big.bin"));
    const response = await send(
      new Request(`${ORIGIN}/upload`, {
        method: "POST",
        headers: { "CF-Connecting-IP": freshAddress() },
        body: form,
      }),
      vars,
    );
    expect(((await response.json()) as UploadBody).message).toBe(
      "The file is too large: the limit is 1000 bytes",
    );
    expect(await storedKeys()).toEqual(afterExact);
  });

  it("stores a body of unknown length, in one part or several", async () => {
    const small = await uploaded(chunkedStream([PNG, bytes(100)]));
    expect(small.path).toMatch(/\.png$/);
    expect((await (await download(small.path)).arrayBuffer()).byteLength).toBe(116);

    // Past one 5 MiB part it becomes an R2 multipart upload.
    const chunks = Array.from({ length: 12 }, (_, i) => bytes(1024 * 1024, i));
    const big = await uploaded(chunkedStream(chunks));
    const response = await download(big.path);
    const received = new Uint8Array(await response.arrayBuffer());
    expect(received.byteLength).toBe(12 * 1024 * 1024);
    for (let i = 0; i < 12; i++)
      expect(received.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024)).toEqual(chunks[i]);
  });

  it("leaves nothing behind when the upload breaks halfway", async () => {
    const before = await storedKeys();
    // With a Content-Length, the SDK's case, through the worker.
    const declared = await upload(brokenStream([PNG, bytes(1000)]), {
      headers: { "Content-Length": "100000" },
    });
    expect(declared.body.code).not.toBe(0);
    expect(declared.body.message).toBe("The upload was interrupted; nothing was stored");
    // Without one, past the first part of a multipart upload. Called directly: between the test and
    // the worker a broken chunked body arrives as a clean end, which a real connection never does.
    const parts = Array.from({ length: 7 }, (_, i) => bytes(1024 * 1024, i));
    const bounds = {
      maxBytes: 100 * 1024 * 1024,
      tooLarge: () => new ApiError(413, "too large"),
      metadata: {},
    };
    await expect(storeRaw(env.FILES, brokenStream(parts), null, bounds)).rejects.toMatchObject({
      message: "The upload was interrupted; nothing was stored",
    });
    expect(await storedKeys()).toEqual(before);
  });

  it("refuses a body longer than its Content-Length and stores nothing", async () => {
    const before = await storedKeys();
    const result = await upload(chunkedStream([bytes(100), bytes(100)]), {
      headers: { "Content-Length": "150" },
    });
    expect(result.body.code).not.toBe(0);
    expect(await storedKeys()).toEqual(before);
  });
});

describe("upload authentication and limits", () => {
  it("accepts a token in the Authorization header or the query, and records the uploader", async () => {
    const user = await newUser("up");
    const { path } = await uploaded(PNG, { token: user.token });
    expect((await env.FILES.head(path.slice("/files/".length)))?.customMetadata).toEqual({
      uploader: user.userId,
    });
    const query = await uploaded(PNG, { path: `/upload?token=${encodeURIComponent(user.token)}` });
    expect(query.url).toMatch(/\.png$/);
  });

  it("answers 401 to an invalid token, even though uploads need none", async () => {
    const before = await storedKeys();
    for (const options of [
      { token: "not-a-jwt" },
      { headers: { Authorization: "Basic abc" } },
      { path: "/upload?token=x" },
    ]) {
      const result = await upload(PNG, options);
      expect(result.status).toBe(401);
      expect(result.body.code).toBe(401);
    }
    expect(await storedKeys()).toEqual(before);
  });

  it("refuses anonymous uploads when UPLOAD_REQUIRE_TOKEN is set, and takes a token", async () => {
    const vars = { UPLOAD_REQUIRE_TOKEN: "true" };
    const anonymous = await upload(PNG, { vars });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.message).toMatch(/token/i);
    const user = await newUser("req");
    expect((await uploaded(PNG, { vars, token: user.token })).url).toMatch(/\.png$/);
  });

  it("counts anonymous uploads per client address per minute", async () => {
    const vars = { UPLOAD_ANON_PER_MINUTE: "2" };
    const address = freshAddress();
    const headers = { "CF-Connecting-IP": address };
    await uploaded(PNG, { vars, headers });
    await uploaded(PNG, { vars, headers });
    const third = await upload(PNG, { vars, headers });
    expect(third.body.code).not.toBe(0);
    expect(third.body.message).toMatch(/^Too many uploads: try again in \d+ s$/);
    // Another address has its own count, and so has a signed-in user.
    await uploaded(PNG, { vars });
    const user = await newUser("count");
    await uploaded(PNG, { vars, headers, token: user.token });
  });

  it("bounds the bytes an address uploads per hour, declared or streamed", async () => {
    const vars = { UPLOAD_ANON_BYTES_PER_HOUR: "3000" };
    const headers = { "CF-Connecting-IP": freshAddress() };
    const before = await storedKeys();
    await uploaded(bytes(2000), { vars, headers });
    const declared = await upload(bytes(1001), { vars, headers });
    expect(declared.body.code).not.toBe(0);
    expect(declared.body.message).toMatch(/^Upload quota exceeded/);
    const streamed = await upload(chunkedStream([bytes(600), bytes(600)]), { vars, headers });
    expect(streamed.body.code).not.toBe(0);
    expect(streamed.body.message).toMatch(/^Upload quota exceeded/);
    await uploaded(chunkedStream([bytes(500), bytes(500)]), { vars, headers });
    const full = await upload(new Uint8Array([1]), { vars, headers });
    expect(full.body.message).toMatch(/^Upload quota exceeded/);
    expect((await storedKeys()).size).toBe(before.size + 2);
  });
});

describe("GET and HEAD /files/<id>.<ext>", () => {
  it("answers HEAD with the length, type, ETag and caching headers and no body", async () => {
    const { path } = await uploaded(PNG);
    const response = await download(path, {}, "HEAD");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Length")).toBe(String(PNG.byteLength));
    expect(response.headers.get("Content-Type")).toBe("image/png");
    expect(response.headers.get("ETag")).toMatch(/^"[^"]+"$/);
    expect(response.headers.get("Accept-Ranges")).toBe("bytes");
    expect(response.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect((await response.arrayBuffer()).byteLength).toBe(0);
  });

  it("answers If-None-Match with 304", async () => {
    const { path } = await uploaded(PNG);
    const etag = (await download(path, {}, "HEAD")).headers.get("ETag")!;
    const response = await download(path, { "If-None-Match": etag });
    expect(response.status).toBe(304);
    expect(response.headers.get("ETag")).toBe(etag);
    expect((await download(path, { "If-None-Match": `"other", W/${etag}` })).status).toBe(304);
    expect((await download(path, { "If-None-Match": '"other"' })).status).toBe(200);
  });

  it("serves single byte ranges with 206 and Content-Range, and 416 past the end", async () => {
    const content = bytes(1000);
    const { path } = await uploaded(content);
    const cases: [string, number, number][] = [
      ["bytes=0-0", 0, 0],
      ["bytes=100-199", 100, 199],
      ["bytes=900-", 900, 999],
      ["bytes=-10", 990, 999],
      ["bytes=990-5000", 990, 999],
      ["bytes=-5000", 0, 999],
    ];
    for (const [range, first, last] of cases) {
      const response = await download(path, { Range: range });
      expect(response.status, range).toBe(206);
      expect(response.headers.get("Content-Range"), range).toBe(`bytes ${first}-${last}/1000`);
      expect(response.headers.get("Content-Length"), range).toBe(String(last - first + 1));
      expect(new Uint8Array(await response.arrayBuffer()), range).toEqual(content.subarray(first, last + 1));
    }
    const head = await download(path, { Range: "bytes=500-" }, "HEAD");
    expect(head.status).toBe(206);
    expect(head.headers.get("Content-Length")).toBe("500");
    for (const range of ["bytes=1000-", "bytes=5000-6000", "bytes=-0"]) {
      const response = await download(path, { Range: range });
      expect(response.status, range).toBe(416);
      expect(response.headers.get("Content-Range"), range).toBe("bytes */1000");
      await response.arrayBuffer();
    }
    // Several ranges or another unit: the whole file.
    const whole = await download(path, { Range: "bytes=0-1,5-6" });
    expect(whole.status).toBe(200);
    expect((await whole.arrayBuffer()).byteLength).toBe(1000);
  });

  it("answers 404 to an unknown or malformed name", async () => {
    for (const path of [
      "/files/0123456789abcdef0123456789abcdef.png",
      "/files/..%2Fsecret",
      "/files/x.png",
    ]) {
      const response = await download(path);
      expect(response.status, path).toBe(404);
      await response.arrayBuffer();
    }
  });
});
