// POST /upload and /api/upload (the SDK's raw body, or multipart/form-data with a `file` part) and
// GET/HEAD /files/<id>.<ext>, the public, unauthenticated download (http-api.md §2.9).
import { Hono, type Context } from "hono";
import { clientAddress } from "../../auth/throttle";
import { serveFile } from "../../files/download";
import { FORM_OVERHEAD_BYTES } from "../../files/limits";
import { quotaExceeded, reserveUpload, type Uploader } from "../../files/quota";
import { emptyFile, storeMultipart, storeRaw, type UploadBounds } from "../../files/upload";
import { ApiError, badRequest, unauthorized } from "../../http/envelope";
import { activeUserOf, bearerToken } from "../middleware/require-auth";
import type { AppEnv } from "../types";

/** The body both SDK parsers accept: the envelope with data = url, plus top-level url and file_id. */
interface UploadAnswer {
  code: 0;
  message: string;
  data: string;
  url: string;
  file_id: string;
}

const tooLarge = (maxBytes: number) =>
  new ApiError(413, `The file is too large: the limit is ${maxBytes} bytes`);

/**
 * The caller: the user of a token (`Authorization: Bearer` or `?token=`) when one is present, which
 * must then be valid; otherwise the client address, unless UPLOAD_REQUIRE_TOKEN is set.
 */
async function uploaderOf(c: Context<AppEnv>): Promise<Uploader> {
  const header = c.req.header("Authorization");
  const token = c.req.query("token") || bearerToken(header);
  if (!token) {
    if (header) throw unauthorized("Invalid authorization header format");
    if (c.var.settings.uploadRequireToken) throw unauthorized("Missing token: uploads need one here");
    return { address: clientAddress(c.req.raw) };
  }
  return { userId: (await activeUserOf(c, token)).userId };
}

/** The Content-Length as a number, null when absent; anything else is a bad request. */
function declaredLength(header: string | undefined): number | null {
  if (header === undefined) return null;
  if (!/^\d{1,15}$/.test(header.trim())) throw badRequest("Invalid Content-Length");
  return Number(header);
}

async function upload(c: Context<AppEnv>): Promise<Response> {
  const settings = c.var.settings;
  const uploader = await uploaderOf(c);
  const multipart = /^multipart\/form-data\b/i.test(c.req.header("Content-Type") ?? "");
  const declared = declaredLength(c.req.header("Content-Length"));
  if (declared === 0 || !c.req.raw.body) throw emptyFile();
  // A form carries its file plus boundaries and part headers; the file's own size is checked once parsed.
  const maxBody = settings.uploadMaxBytes + (multipart ? FORM_OVERHEAD_BYTES : 0);
  if (declared !== null && declared > maxBody) throw tooLarge(settings.uploadMaxBytes);

  const reservation = await reserveUpload(c.env, settings, uploader, multipart ? null : declared);
  const quotaBound = reservation.allowanceBytes < settings.uploadMaxBytes;
  const bounds: UploadBounds = {
    maxBytes: Math.min(settings.uploadMaxBytes, reservation.allowanceBytes),
    tooLarge: quotaBound ? quotaExceeded : () => tooLarge(settings.uploadMaxBytes),
    metadata: "userId" in uploader ? { uploader: uploader.userId } : {},
  };
  const stored = multipart
    ? await storeMultipart(c.env.FILES, c.req.raw.body, c.req.header("Content-Type") ?? "", bounds)
    : await storeRaw(c.env.FILES, c.req.raw.body, declared, bounds);
  await reservation.settle(stored.size);

  const url = new URL(`/files/${stored.name}`, c.req.url).href;
  return c.json<UploadAnswer>({ code: 0, message: "success", data: url, url, file_id: stored.id });
}

export const uploadRoute = new Hono<AppEnv>().post("/", upload);

// Hono answers HEAD with this GET route minus the body; serveFile reads no object body for HEAD.
export const fileRoutes = new Hono<AppEnv>().get("/:name", (c) =>
  serveFile(c.env.FILES, c.req.param("name"), c.req.raw),
);
