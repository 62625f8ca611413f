// Streams an upload into R2 under a new unguessable name, whole or not at all. A body of known
// length streams through a FixedLengthStream, so a short, long or broken body fails the put; a body
// of unknown length goes up in parts and the multipart upload is aborted on any failure.
import { ApiError, badRequest } from "../http/envelope";
import { FILE_ID_BYTES, FORM_OVERHEAD_BYTES, MULTIPART_PART_BYTES, SNIFF_BYTES } from "./limits";
import { extensionOf, sniffType, typeForExtension, type FileType } from "./magic-bytes";

export interface StoredFile {
  /** The random id, hex. */
  id: string;
  /** The object key and last URL segment: `<id>.<ext>`. */
  name: string;
  size: number;
  contentType: string;
}

export interface UploadBounds {
  /** Most bytes accepted; past it the upload is refused with `tooLarge()`. */
  maxBytes: number;
  tooLarge: () => ApiError;
  /** Recorded with the object (customMetadata), e.g. the uploader's user id. */
  metadata: Record<string, string>;
}

export const emptyFile = () => badRequest("The file is empty");
const interrupted = () => badRequest("The upload was interrupted; nothing was stored");

function newFileId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(FILE_ID_BYTES));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function putOptions(type: FileType, metadata: Record<string, string>): R2PutOptions {
  return { httpMetadata: { contentType: type.contentType }, customMetadata: metadata };
}

/** Reads a body chunk by chunk, counting bytes, refusing past a limit, noting a broken stream. */
class BodyReader {
  total = 0;
  /** Why reading stopped early: a refusal to answer with. */
  failure: ApiError | null = null;
  private readonly pending: Uint8Array[] = [];

  constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly limit: number,
    private readonly overLimit: () => ApiError,
  ) {}

  /** The next chunk, or null at the end. Throws (and records why) on a broken or over-long body. */
  async next(): Promise<Uint8Array | null> {
    const queued = this.pending.shift();
    if (queued) return queued;
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = await this.reader.read();
    } catch (error) {
      this.failure ??= interrupted();
      throw error;
    }
    if (result.done) return null;
    this.total += result.value.byteLength;
    if (this.total > this.limit) {
      this.failure ??= this.overLimit();
      await this.reader.cancel().catch(() => undefined);
      throw this.failure;
    }
    return result.value;
  }

  /** Up to `n` first bytes, kept to be read again by next(). */
  async peek(n: number): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let have = 0;
    while (have < n) {
      const chunk = await this.next();
      if (!chunk) break;
      chunks.push(chunk);
      have += chunk.byteLength;
    }
    this.pending.push(...chunks);
    const head = new Uint8Array(Math.min(have, n));
    let at = 0;
    for (const chunk of chunks) {
      if (at >= head.length) break;
      const part = chunk.subarray(0, head.length - at);
      head.set(part, at);
      at += part.byteLength;
    }
    return head;
  }

  /** The rest of the body as a stream, for a FixedLengthStream. */
  stream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const chunk = await this.next();
        if (chunk) controller.enqueue(chunk);
        else controller.close();
      },
      cancel: (reason) => this.reader.cancel(reason),
    });
  }
}

/** Turns a failed store into the refusal the reader recorded, or passes the error on. */
function refusalOr(body: BodyReader, error: unknown): never {
  throw body.failure ?? error;
}

/** A body of `length` bytes exactly: one put through a FixedLengthStream, failed by any mismatch. */
async function putKnownLength(
  bucket: R2Bucket,
  key: string,
  body: BodyReader,
  length: number,
  options: R2PutOptions,
): Promise<void> {
  const fixed = new FixedLengthStream(length);
  const [put, pump] = await Promise.allSettled([
    bucket.put(key, fixed.readable, options),
    body.stream().pipeTo(fixed.writable),
  ]);
  if (pump.status === "rejected") refusalOr(body, pump.reason);
  if (put.status === "rejected") {
    // A body shorter than its Content-Length ends the stream early: the client went away.
    body.failure ??= body.total < length ? interrupted() : null;
    refusalOr(body, put.reason);
  }
}

/** A body of unknown length: one put when it fits one part, else an R2 multipart upload. */
async function putUnknownLength(
  bucket: R2Bucket,
  key: string,
  body: BodyReader,
  options: R2PutOptions,
): Promise<void> {
  let upload: R2MultipartUpload | null = null;
  const parts: R2UploadedPart[] = [];
  let buffer = new Uint8Array(MULTIPART_PART_BYTES);
  let filled = 0;
  try {
    for (let chunk = await body.next(); chunk; chunk = await body.next()) {
      while (chunk.byteLength > 0) {
        const take = Math.min(chunk.byteLength, buffer.length - filled);
        buffer.set(chunk.subarray(0, take), filled);
        filled += take;
        chunk = chunk.subarray(take);
        if (filled === buffer.length) {
          upload ??= await bucket.createMultipartUpload(key, options);
          parts.push(await upload.uploadPart(parts.length + 1, buffer));
          buffer = new Uint8Array(MULTIPART_PART_BYTES);
          filled = 0;
        }
      }
    }
    if (!upload) {
      await bucket.put(key, buffer.subarray(0, filled), options);
      return;
    }
    if (filled > 0) parts.push(await upload.uploadPart(parts.length + 1, buffer.subarray(0, filled)));
    await upload.complete(parts);
  } catch (error) {
    await upload?.abort().catch(() => undefined);
    refusalOr(body, error);
  }
}

/**
 * Stores a raw body (the SDK's `application/octet-stream` upload). `declaredLength` is the
 * Content-Length, or null when the body is chunked. The type comes from the first bytes.
 */
export async function storeRaw(
  bucket: R2Bucket,
  stream: ReadableStream<Uint8Array>,
  declaredLength: number | null,
  bounds: UploadBounds,
): Promise<StoredFile> {
  const limit = declaredLength ?? bounds.maxBytes;
  const overLimit =
    declaredLength === null
      ? bounds.tooLarge
      : () => badRequest("The body is longer than its Content-Length");
  const body = new BodyReader(stream.getReader(), limit, overLimit);
  let head: Uint8Array;
  try {
    head = await body.peek(SNIFF_BYTES);
  } catch (error) {
    refusalOr(body, error);
  }
  if (head.byteLength === 0) throw declaredLength ? interrupted() : emptyFile();
  const type = sniffType(head);
  const id = newFileId();
  const name = `${id}.${type.ext}`;
  const options = putOptions(type, bounds.metadata);
  if (declaredLength === null) await putUnknownLength(bucket, name, body, options);
  else await putKnownLength(bucket, name, body, declaredLength, options);
  return { id, name, size: body.total, contentType: type.contentType };
}

/**
 * Stores the `file` part of a multipart/form-data body. The form is parsed in memory (at most
 * maxBytes plus FORM_OVERHEAD_BYTES); the extension comes from the part's file name, else its bytes.
 */
export async function storeMultipart(
  bucket: R2Bucket,
  stream: ReadableStream<Uint8Array>,
  contentType: string,
  bounds: UploadBounds,
): Promise<StoredFile> {
  const body = new BodyReader(stream.getReader(), bounds.maxBytes + FORM_OVERHEAD_BYTES, bounds.tooLarge);
  let form: FormData;
  try {
    form = await new Response(body.stream(), { headers: { "Content-Type": contentType } }).formData();
  } catch {
    throw body.failure ?? badRequest("Malformed multipart/form-data body");
  }
  const file = form.get("file");
  if (file === null || typeof file === "string") throw badRequest('The form has no file part named "file"');
  if (file.size === 0) throw emptyFile();
  if (file.size > bounds.maxBytes) throw bounds.tooLarge();
  const fromName = extensionOf(file.name);
  const type = fromName
    ? typeForExtension(fromName)
    : sniffType(new Uint8Array(await file.slice(0, SNIFF_BYTES).arrayBuffer()));
  const id = newFileId();
  const name = `${id}.${type.ext}`;
  await bucket.put(name, file, putOptions(type, bounds.metadata));
  return { id, name, size: file.size, contentType: type.contentType };
}
