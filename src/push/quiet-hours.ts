// Do-not-disturb: a daily window in the user's own time zone (an IANA name such as "Asia/Shanghai",
// so daylight saving time moves it as the user's clock moves). A window may cross midnight
// ("22:00"–"07:00"); start = end is refused when set. During it no notification is sent: the
// messages wait in the inbox, the next notification after the window carries the full badge.

export interface QuietHours {
  /** Minutes after local midnight, 0–1439. */
  startMinute: number;
  endMinute: number;
  timeZone: string;
}

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** "07:30" → 450; null when not HH:MM. */
export function minuteOfDay(text: string): number | null {
  const match = HH_MM.exec(text);
  return match ? Number(match[1]) * 60 + Number(match[2]) : null;
}

export function formatMinute(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A formatter of hours and minutes in `timeZone`; null when the runtime does not know the zone. */
function formatterFor(timeZone: string): Intl.DateTimeFormat | null {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    try {
      formatter = new Intl.DateTimeFormat("en-US", {
        timeZone,
        hour: "2-digit",
        minute: "2-digit",
        hourCycle: "h23",
      });
    } catch {
      return null;
    }
    if (formatters.size > 100) formatters.clear();
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

export function isTimeZone(name: string): boolean {
  return name.length <= 64 && formatterFor(name) !== null;
}

/** Minutes after midnight at `at` in `timeZone`. */
export function localMinute(at: number, timeZone: string): number {
  const formatter = formatterFor(timeZone);
  if (!formatter) return new Date(at).getUTCHours() * 60 + new Date(at).getUTCMinutes();
  let hour = 0;
  let minute = 0;
  for (const part of formatter.formatToParts(at)) {
    if (part.type === "hour") hour = Number(part.value) % 24;
    if (part.type === "minute") minute = Number(part.value);
  }
  return hour * 60 + minute;
}

/** Whether `at` falls in the window (start inclusive, end exclusive). */
export function inQuietHours(quiet: QuietHours | null, at: number): boolean {
  if (!quiet || quiet.startMinute === quiet.endMinute) return false;
  const now = localMinute(at, quiet.timeZone);
  return quiet.startMinute < quiet.endMinute
    ? now >= quiet.startMinute && now < quiet.endMinute
    : now >= quiet.startMinute || now < quiet.endMinute;
}
