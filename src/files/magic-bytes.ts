// Guesses a file's type from its first bytes, and maps file extensions to the content types served.

export interface FileType {
  /** The extension the file's URL ends with, lower case, without the dot. */
  ext: string;
  contentType: string;
}

/** The content type served for each extension. Anything else is served as application/octet-stream. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  heic: "image/heic",
  avif: "image/avif",
  mp4: "video/mp4",
  mov: "video/quicktime",
  m4a: "audio/mp4",
  aac: "audio/aac",
  mp3: "audio/mpeg",
  wav: "audio/wav",
  pdf: "application/pdf",
  zip: "application/zip",
  txt: "text/plain; charset=utf-8",
};

export const UNKNOWN_TYPE: FileType = { ext: "bin", contentType: "application/octet-stream" };

/** The type for an extension: its known content type, or application/octet-stream. */
export function typeForExtension(ext: string): FileType {
  return { ext, contentType: CONTENT_TYPES[ext] ?? UNKNOWN_TYPE.contentType };
}

/** The extension of a file name when it is a plain 1–10 letters and digits, lower-cased; else null. */
export function extensionOf(fileName: string): string | null {
  const match = /\.([A-Za-z0-9]{1,10})$/.exec(fileName.trim());
  return match ? match[1]!.toLowerCase() : null;
}

const ascii = (bytes: Uint8Array, at: number, text: string) =>
  bytes.length >= at + text.length && [...text].every((ch, i) => bytes[at + i] === ch.charCodeAt(0));

/** ISO base media file brands (the 4 bytes after "ftyp") and the extension each implies. */
const FTYP_BRANDS: Readonly<Record<string, string>> = {
  heic: "heic",
  heix: "heic",
  hevc: "heic",
  hevx: "heic",
  heim: "heic",
  heis: "heic",
  mif1: "heic",
  msf1: "heic",
  avif: "avif",
  "qt  ": "mov",
  "M4A ": "m4a",
  "M4B ": "m4a",
  isom: "mp4",
  iso2: "mp4",
  iso5: "mp4",
  mp41: "mp4",
  mp42: "mp4",
  avc1: "mp4",
  dash: "mp4",
  "M4V ": "mp4",
  "3gp4": "mp4",
  "3gp5": "mp4",
};

function guessExtension(b: Uint8Array): string | null {
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpg";
  if (ascii(b, 0, "\x89PNG\r\n\x1a\n")) return "png";
  if (ascii(b, 0, "GIF87a") || ascii(b, 0, "GIF89a")) return "gif";
  if (ascii(b, 0, "RIFF") && ascii(b, 8, "WEBP")) return "webp";
  if (ascii(b, 0, "RIFF") && ascii(b, 8, "WAVE")) return "wav";
  if (ascii(b, 4, "ftyp")) return FTYP_BRANDS[String.fromCharCode(...b.subarray(8, 12))] ?? "mp4";
  if (ascii(b, 0, "%PDF-")) return "pdf";
  if (ascii(b, 0, "PK\x03\x04") || ascii(b, 0, "PK\x05\x06")) return "zip";
  if (ascii(b, 0, "ID3")) return "mp3";
  if (b[0] === 0xff && b[1] !== undefined) {
    // ADTS (AAC) frames sync on 12 bits with layer 00; MPEG audio frames on 11 bits with a layer.
    if ((b[1] & 0xf6) === 0xf0) return "aac";
    if ((b[1] & 0xe0) === 0xe0 && (b[1] & 0x06) !== 0) return "mp3";
  }
  return null;
}

/** The type guessed from a file's first bytes (SNIFF_BYTES are enough), or `bin` when unknown. */
export function sniffType(head: Uint8Array): FileType {
  const ext = guessExtension(head);
  return ext ? typeForExtension(ext) : UNKNOWN_TYPE;
}
