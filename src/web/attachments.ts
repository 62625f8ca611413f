// Files a user attaches (picked, pasted or dropped): which ones show as photos, and their size in
// pixels for the image message's width and height.

/** Types every supported browser draws in an <img>; other images go as files. */
const SHOWN_IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"]);

export function isShownImage(file: File): boolean {
  return SHOWN_IMAGE_TYPES.has(file.type);
}

/** The image's width and height in pixels, or 0 × 0 when the browser cannot decode it. */
export async function imageSize(file: File): Promise<{ width: number; height: number }> {
  try {
    const bitmap = await createImageBitmap(file);
    const size = { width: bitmap.width, height: bitmap.height };
    bitmap.close();
    return size;
  } catch {
    return { width: 0, height: 0 };
  }
}

/** The files of a paste or a drop (none when it carries only text). */
export function filesOf(data: DataTransfer | null): File[] {
  return data ? [...data.files] : [];
}
