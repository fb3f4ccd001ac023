/**
 * What is new when a conversation opens, and what is read out as it arrives. The marker sits
 * above the first of the other member's messages after the reader's read mark (as sent with the
 * page); new messages are told to screen readers through one polite live region, while the
 * message log itself has its announcements off, so pages of history loaded on scroll are never
 * read out again.
 */
import type { PlainMessage } from "../chat/protocol.js";

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
