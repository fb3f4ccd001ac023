/**
 * What is new when a conversation opens, and what is read out as it arrives. The marker sits
 * above the first of the other member's messages after the reader's read mark (as sent with the
 * page); new messages are told to screen readers through one polite live region, while the
 * message log itself has its announcements off, so pages of history loaded on scroll are never
 * read out again. A tab in the back shows a notification of its own.
 */
import type { PlainMessage } from "../chat/protocol.js";
import type { Item } from "./render.js";

/** The other member's first message after `readUpTo` among those drawn, and how many follow it. */
export function firstUnread(list: HTMLElement, readUpTo: number): { seq: number; count: number } | undefined {
  const unread = [...list.querySelectorAll<HTMLElement>("li.msg-them[data-seq]")]
    .map((li) => Number(li.dataset.seq))
    .filter((seq) => seq > readUpTo);
  const [first] = unread;
  return first === undefined ? undefined : { seq: first, count: unread.length };
}

export function newMessagesMarker(count: number): HTMLElement {
  const marker = document.createElement("div");
  marker.className = "new-marker";
  marker.setAttribute("role", "separator");
  const label = document.createElement("span");
  label.textContent = count === 1 ? "1 new message" : `${count} new messages`;
  marker.append(label);
  return marker;
}

// Kept short: the region only needs the latest few for a screen reader to say them.
const KEPT = 3;

export function announceMessage(region: HTMLElement, peerName: string, message: PlainMessage): void {
  const line = document.createElement("p");
  const what = message.deleted
    ? "deleted a message"
    : message.attachment
      ? `sent a file${message.text ? `: ${message.text}` : ""}`
      : message.text;
  line.textContent = `${peerName}: ${what}`;
  region.append(line);
  while (region.childElementCount > KEPT) region.firstElementChild?.remove();
}

/**
 * A message that arrived while the tab is in the back: its own notification, with the text only
 * if the user opted in (profile), as pushes do; the same tag as a push for this room, so one
 * replaces the other.
 */
export function notifyInBackground(item: Item, options: { peerName: string; roomId: string; withText: boolean }): void {
  if (document.visibilityState === "visible" || !("Notification" in window) || Notification.permission !== "granted") return;
  const text = item.attachment ? `Attachment: ${item.attachment.name}${item.text ? ` (${item.text})` : ""}` : item.text;
  const shown = options.withText && !item.deleted ? text.slice(0, 140) : "Open Duet to read it.";
  const note = new Notification(`New message from ${options.peerName}`, { body: shown, tag: options.roomId });
  note.addEventListener("click", () => window.focus());
}
