/** Text helpers for the chat page, free of the DOM so they can be tested in Node. */

export type Segment = { text: string; href?: string };

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+/gi;
// Trailing punctuation usually ends the sentence, not the link.
const TRAILING = /[.,;:!?)\]}]+$/;

/** Splits text into plain runs and http(s) links; nothing else ever becomes a link. */
export function linkify(text: string): Segment[] {
  const segments: Segment[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const start = match.index ?? 0;
    let url = match[0];
    const trailing = TRAILING.exec(url)?.[0] ?? "";
    url = url.slice(0, url.length - trailing.length);
    if (start > last) segments.push({ text: text.slice(last, start) });
    segments.push({ text: url, href: url });
    last = start + url.length;
  }
  if (last < text.length) segments.push({ text: text.slice(last) });
  return segments;
}

const sameDay = (a: Date, b: Date) =>
  a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();

/** "Today", "Yesterday", or a date in the reader's locale, for day separators. */
export function dayLabel(date: Date, now: Date = new Date(), locale?: string): string {
  if (sameDay(date, now)) return "Today";
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (sameDay(date, yesterday)) return "Yesterday";
  return date.toLocaleDateString(locale, {
    weekday: "long",
    day: "numeric",
    month: "long",
    ...(date.getFullYear() !== now.getFullYear() ? { year: "numeric" } : {}),
  });
}

export function timeLabel(date: Date, locale?: string): string {
  return date.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
}

/**
 * The conversation list's time, in the reader's own time zone like the bubbles: the time today,
 * "Yesterday", the weekday within the last week, else the date ("21:20", "Yesterday", "Mon").
 */
export function listTimeLabel(date: Date, now: Date = new Date(), locale?: string): string {
  if (sameDay(date, now)) return timeLabel(date, locale);
  const startOfToday = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const days = Math.ceil((startOfToday.getTime() - date.getTime()) / 86_400_000);
  if (days <= 1) return "Yesterday";
  if (days < 7) return date.toLocaleDateString(locale, { weekday: "short" });
  return date.toLocaleDateString(locale, {
    day: "numeric",
    month: "short",
    ...(date.getFullYear() !== now.getFullYear() ? { year: "numeric" } : {}),
  });
}

/** The composer's counter: shown only near the limit ("3,950 / 4,000"), empty before. */
export function lengthLabel(length: number, max: number): string {
  if (length < max * 0.9) return "";
  return `${length.toLocaleString("en-US")} / ${max.toLocaleString("en-US")}`;
}

/** "last seen 5 minutes ago" and the like, for the presence line. */
export function lastSeenLabel(iso: string | null, now: Date = new Date()): string {
  if (!iso) return "offline";
  const minutes = Math.round((now.getTime() - new Date(iso).getTime()) / 60_000);
  if (minutes < 1) return "last seen just now";
  if (minutes < 60) return `last seen ${minutes} minute${minutes === 1 ? "" : "s"} ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `last seen ${hours} hour${hours === 1 ? "" : "s"} ago`;
  return `last seen ${new Date(iso).toLocaleDateString()}`;
}

/** A random id for a message, made by the sender so a retried send is recognised. */
export function newClientId(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
