// Display helpers: times, initials, avatar colours, message previews.
import { MessageType } from "edge-im/client";

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const weekdayFormat = new Intl.DateTimeFormat(undefined, { weekday: "short" });
const dateFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const longDateFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long" });
const DAY_MS = 86_400_000;

function startOfDay(time: number): number {
  const d = new Date(time);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** "14:05" today, "Mon" this week, "3 Dec" before. */
export function shortTime(time: number, now = Date.now()): string {
  if (!time) return "";
  const today = startOfDay(now);
  if (time >= today) return timeFormat.format(time);
  if (time >= today - 6 * DAY_MS) return weekdayFormat.format(time);
  return dateFormat.format(time);
}

export function clockTime(time: number): string {
  return time ? timeFormat.format(time) : "";
}

/** "Today", "Yesterday" or "Monday, 3 December": the separator between days in a chat. */
export function dayLabel(time: number, now = Date.now()): string {
  const day = startOfDay(time);
  const today = startOfDay(now);
  if (day === today) return "Today";
  if (day === today - DAY_MS) return "Yesterday";
  return longDateFormat.format(time);
}

export function sameDay(a: number, b: number): boolean {
  return startOfDay(a) === startOfDay(b);
}

/** Up to two letters for an avatar. */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0]![0], words[1]![0]] : [...(words[0] ?? "?")].slice(0, 2);
  return letters.join("").toUpperCase();
}

/** Avatar colours: distinct from each other, each dark enough for white initials. */
const PALETTE = [
  "#4f46e5",
  "#0f766e",
  "#be123c",
  "#b45309",
  "#047857",
  "#0369a1",
  "#7c3aed",
  "#c2410c",
  "#0e7490",
  "#a21caf",
  "#4d7c0f",
  "#1d4ed8",
];

/** A stable colour per id (FNV-1a), so a person keeps their colour everywhere. */
export function colour(id: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return PALETTE[hash % PALETTE.length]!;
}

const MEDIA_LABELS: Record<number, string> = {
  [MessageType.image]: "Photo",
  [MessageType.audio]: "Voice message",
  [MessageType.video]: "Video",
  [MessageType.file]: "File",
  [MessageType.location]: "Location",
  [MessageType.card]: "Contact card",
};

/** One line of a message for the conversation list; notices are described by `describeNotice`. */
export function previewText(messageType: number, text: string, isRevoked: boolean): string {
  if (isRevoked) return "Message revoked";
  if (messageType === MessageType.text) return text.replace(/\s+/g, " ").trim();
  return MEDIA_LABELS[messageType] ?? "Message";
}

/** A file size for people: "512 B", "12.3 KB", "4.5 MB" (powers of 1024). */
export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
