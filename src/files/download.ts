// Serves a stored file for GET and HEAD: validators, immutable caching, and single byte ranges.
import { FILE_CACHE_CONTROL } from "./limits";
import { parseRange } from "./range";

/** The last URL segment of a stored file: the hex id and its extension (upload.ts). */
const FILE_NAME = /^[0-9a-f]{32}\.[a-z0-9]{1,10}$/;

/** Types a browser may show in place; anything else downloads as an attachment. */
const INLINE_TYPE = /^(image|audio|video)\/|^application\/pdf$|^text\/plain/;

const notFound = () => new Response("Not found", { status: 404, headers: { "Content-Type": "text/plain" } });

/** Whether an If-None-Match header names this ETag (weak comparison, RFC 9110 §13.1.2). */
function matches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch.trim() === "*") return true;
  const bare = (tag: string) => tag.trim().replace(/^W\//, "");
  return ifNoneMatch.split(",").some((tag) => bare(tag) === bare(etag));
}

export async function serveFile(bucket: R2Bucket, name: string, request: Request): Promise<Response> {
  if (!FILE_NAME.test(name)) return notFound();
  const object = await bucket.head(name);
  if (!object) return notFound();
  const contentType = object.httpMetadata?.contentType ?? "application/octet-stream";
  const headers = new Headers({
    ETag: object.httpEtag,
    "Cache-Control": FILE_CACHE_CONTROL,
    "Accept-Ranges": "bytes",
    "Last-Modified": object.uploaded.toUTCString(),
    "Content-Type": contentType,
    // Uploads are untrusted: never sniffed, never run as a page on this origin.
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Content-Disposition": INLINE_TYPE.test(contentType) ? "inline" : "attachment",
  });
  const ifNoneMatch = request.headers.get("If-None-Match");
  if (ifNoneMatch && matches(ifNoneMatch, object.httpEtag)) {
    headers.delete("Content-Type");
    return new Response(null, { status: 304, headers });
  }

  const head = request.method === "HEAD";
  const range = parseRange(request.headers.get("Range"), object.size);
  if (range.kind === "unsatisfiable") {
    headers.set("Content-Range", `bytes */${object.size}`);
    headers.set("Content-Type", "text/plain");
    return new Response(null, { status: 416, headers });
  }
  if (range.kind === "full") {
    headers.set("Content-Length", String(object.size));
    if (head) return new Response(null, { status: 200, headers });
    const body = await bucket.get(name);
    return body ? new Response(body.body, { status: 200, headers }) : notFound();
  }
  const { offset, length } = range;
  headers.set("Content-Range", `bytes ${offset}-${offset + length - 1}/${object.size}`);
  headers.set("Content-Length", String(length));
  if (head) return new Response(null, { status: 206, headers });
  const body = await bucket.get(name, { range: { offset, length } });
  return body ? new Response(body.body, { status: 206, headers }) : notFound();
}
