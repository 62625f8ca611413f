// File uploads (POST /upload) and the SDK's media message contents: IMImageMessageContent and
// IMFileMessageContent as JSON with every key present, as the iOS SDK's JSONEncoder writes them.
import { IMHttpError } from "./errors.ts";
import { isObject, ShapeError, string, type JsonObject } from "./json-shapes.ts";

/** An upload may take long: the iOS SDK allows 300 s for the whole transfer (http-api.md §2.9 A). */
export const UPLOAD_TIMEOUT_MS = 300_000;

export interface UploadedFile {
  /** The absolute download URL, `<origin>/files/<id>.<ext>`; it never changes content. */
  url: string;
  fileId: string;
  /** Bytes uploaded. */
  size: number;
}

/** IMImageMessageContent (message type 2). */
export interface ImageContent {
  url: string;
  thumbnailUrl: string;
  width: number;
  height: number;
  size: number;
  format: string;
  localPath: string;
  thumbnailPath: string;
}

/** IMFileMessageContent (message type 5). */
export interface FileContent {
  url: string;
  fileName: string;
  size: number;
  format: string;
  localPath: string;
}

const extension = (path: string) => /\.([a-z0-9]{1,10})$/i.exec(path)?.[1]?.toLowerCase() ?? "";

/** The extension a download URL ends with ("png" for `…/files/ab12.png`), or "". */
export function formatOf(url: string): string {
  return extension(new URL(url, "http://x/").pathname);
}

/** The JSON content of an image message. */
export function imageContent(
  file: Pick<UploadedFile, "url" | "size"> & { width: number; height: number; thumbnailUrl?: string },
): string {
  const content: ImageContent = {
    url: file.url,
    thumbnailUrl: file.thumbnailUrl ?? "",
    width: Math.round(file.width),
    height: Math.round(file.height),
    size: file.size,
    format: formatOf(file.url),
    localPath: "",
    thumbnailPath: "",
  };
  return JSON.stringify(content);
}

/** The JSON content of a file message. */
export function fileContent(file: Pick<UploadedFile, "url" | "size"> & { fileName: string }): string {
  const content: FileContent = {
    url: file.url,
    fileName: file.fileName,
    size: file.size,
    // As the iOS SDK does: the extension of the local file's name (else the URL's).
    format: extension(file.fileName) || formatOf(file.url),
    localPath: "",
  };
  return JSON.stringify(content);
}

function parseObject(text: string): JsonObject | null {
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

const count = (o: JsonObject, key: string) =>
  typeof o[key] === "number" && Number.isFinite(o[key]) ? o[key] : 0;

/** An image message's content, or null when it is not the SDK's JSON with an http(s) url. */
export function readImageContent(text: string): ImageContent | null {
  const o = parseObject(text);
  if (!o || typeof o.url !== "string" || !/^https?:\/\//.test(o.url)) return null;
  return {
    url: o.url,
    thumbnailUrl: typeof o.thumbnailUrl === "string" ? o.thumbnailUrl : "",
    width: count(o, "width"),
    height: count(o, "height"),
    size: count(o, "size"),
    format: typeof o.format === "string" ? o.format : "",
    localPath: "",
    thumbnailPath: "",
  };
}

/** A file message's content, or null when it is not the SDK's JSON with an http(s) url. */
export function readFileContent(text: string): FileContent | null {
  const o = parseObject(text);
  if (!o || typeof o.url !== "string" || !/^https?:\/\//.test(o.url)) return null;
  return {
    url: o.url,
    fileName: typeof o.fileName === "string" ? o.fileName : "",
    size: count(o, "size"),
    format: typeof o.format === "string" ? o.format : "",
    localPath: "",
  };
}

/** The upload answer: `url` and `file_id` at top level (the envelope's code must be 0). */
export function readUploadAnswer(body: unknown, status: number, size: number): UploadedFile {
  if (!isObject(body) || typeof body.code !== "number" || typeof body.message !== "string")
    throw new IMHttpError(status, status, "POST /upload: no envelope");
  if (body.code !== 0) throw new IMHttpError(status, body.code, body.message);
  const url = string(body, "url", true);
  const fileId = string(body, "file_id", true);
  if (!url) throw new ShapeError("url is empty");
  return { url, fileId, size };
}
