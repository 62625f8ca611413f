// Named limits of file uploads and downloads. Each cites where it comes from.

/**
 * Default UPLOAD_MAX_BYTES: 100 MB, the request-body limit of the Workers Free and Pro plans
 * (developers.cloudflare.com/workers/platform/limits, "Request limits").
 */
export const DEFAULT_UPLOAD_MAX_BYTES = 100 * 1024 * 1024;

/** Bytes read before the type is guessed: the longest signature checked (magic-bytes.ts) is 12. */
export const SNIFF_BYTES = 16;

/**
 * Part size when a body of unknown length goes to R2 as a multipart upload: R2's minimum part size
 * is 5 MiB, and every part but the last must have the same size
 * (developers.cloudflare.com/r2/objects/multipart-objects, "Limitations").
 */
export const MULTIPART_PART_BYTES = 5 * 1024 * 1024;

/** What a multipart/form-data body may add around its file: boundaries, part headers, other fields. */
export const FORM_OVERHEAD_BYTES = 64 * 1024;

/** Random bytes in a file id: 128 bits, so a URL cannot be guessed. */
export const FILE_ID_BYTES = 16;

/** A file's URL never changes content, so caches may keep it for a year (RFC 8246, immutable). */
export const FILE_CACHE_CONTROL = "public, max-age=31536000, immutable";

/** One minute and one hour, the windows of the upload limits (UPLOAD_*_PER_MINUTE, _PER_HOUR). */
export const MINUTE_MS = 60 * 1000;
export const HOUR_MS = 60 * MINUTE_MS;
